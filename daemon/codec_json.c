/*
 * codec_json.c - JSON lines to Avro and back, for produce and consume.
 *
 * The tools sit at the product's edge: the daemon never parses JSON.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "codec_impl.h"

/* ------------------------------------------------------------------------
 * JSON -> Avro (the produce tool)
 */

static int jf_fail(struct jfill *j, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static int jf_fail(struct jfill *j, const char *fmt, ...)
{
    char what[200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof(what), fmt, ap);
    va_end(ap);
    if (j->plen)
        codec_errf(j->err, j->errlen, "field '%s': %s", j->path, what);
    else
        codec_errf(j->err, j->errlen, "%s", what);
    return -1;
}

static size_t jf_push(struct jfill *j, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static size_t jf_push(struct jfill *j, const char *fmt, ...)
{
    size_t saved = j->plen;
    va_list ap;
    va_start(ap, fmt);
    int w = vsnprintf(j->path + j->plen, sizeof(j->path) - j->plen, fmt, ap);
    va_end(ap);
    if (w > 0)
        j->plen += (size_t)w;
    if (j->plen >= sizeof(j->path))
        j->plen = sizeof(j->path) - 1;
    return saved;
}

static void jf_pop(struct jfill *j, size_t saved)
{
    j->plen = saved;
    j->path[saved] = '\0';
}

/* The JSON definition of record `name` somewhere in the schema JSON. */
static const json_t *json_find_record(const json_t *node, const char *name)
{
    if (json_is_object(node)) {
        const json_t *t = json_object_get(node, "type");
        const json_t *n = json_object_get(node, "name");
        if (json_is_string(t) && strcmp(json_string_value(t), "record") == 0 &&
            json_is_string(n)) {
            const char *nv = json_string_value(n);
            const char *dot = strrchr(nv, '.');
            if (strcmp(nv, name) == 0 || (dot && strcmp(dot + 1, name) == 0))
                return node;
        }
        const char *k;
        json_t *v;
        json_object_foreach((json_t *)node, k, v) {
            const json_t *r = json_find_record(v, name);
            if (r)
                return r;
        }
    } else if (json_is_array(node)) {
        size_t i;
        json_t *v;
        json_array_foreach(node, i, v) {
            const json_t *r = json_find_record(v, name);
            if (r)
                return r;
        }
    }
    return NULL;
}

static const char *json_type_name(const json_t *j)
{
    switch (json_typeof(j)) {
    case JSON_OBJECT: return "an object";
    case JSON_ARRAY: return "an array";
    case JSON_STRING: return "a string";
    case JSON_INTEGER: return "an integer";
    case JSON_REAL: return "a number";
    case JSON_TRUE:
    case JSON_FALSE: return "a boolean";
    default: return "null";
    }
}

/* Could JSON value j be written as (non-union) schema s? Shallow. */
static bool json_fits(avro_schema_t s, const json_t *j)
{
    s = codec_skip_links(s);
    switch (avro_typeof(s)) {
    case AVRO_NULL: return json_is_null(j);
    case AVRO_BOOLEAN: return json_is_boolean(j);
    case AVRO_INT32:
    case AVRO_INT64: return json_is_integer(j);
    case AVRO_FLOAT:
    case AVRO_DOUBLE: return json_is_number(j);
    case AVRO_STRING:
    case AVRO_BYTES: return json_is_string(j);
    case AVRO_ENUM:
        return json_is_string(j) &&
               avro_schema_enum_get_by_name(s, json_string_value(j)) >= 0;
    case AVRO_RECORD:
    case AVRO_MAP: return json_is_object(j);
    case AVRO_ARRAY: return json_is_array(j);
    default: return false;
    }
}

static bool branch_named(avro_schema_t b, const char *key)
{
    b = codec_skip_links(b);
    if (strcmp(avro_schema_type_name(b), key) == 0)
        return true;
    avro_type_t t = avro_typeof(b);
    if (t == AVRO_RECORD || t == AVRO_ENUM || t == AVRO_FIXED) {
        char full[128];
        codec_schema_fullname(b, full, sizeof(full));
        return strcmp(full, key) == 0;
    }
    return false;
}


static int jf_record(struct jfill *j, avro_value_t *v, avro_schema_t s,
                     const json_t *js)
{
    if (!json_is_object(js))
        return jf_fail(j, "expected an object, got %s", json_type_name(js));
    const json_t *def = json_find_record(j->schema_json, avro_schema_name(s));
    const json_t *dfields = def ? json_object_get(def, "fields") : NULL;
    size_t n = avro_schema_record_size(s);
    for (size_t i = 0; i < n; i++) {
        const char *name = avro_schema_record_field_name(s, (int)i);
        const json_t *jv = json_object_get(js, name);
        if (!jv && dfields) {
            size_t k;
            json_t *df;
            json_array_foreach(dfields, k, df) {
                const json_t *dn = json_object_get(df, "name");
                if (json_is_string(dn) && strcmp(json_string_value(dn), name) == 0) {
                    jv = json_object_get(df, "default");
                    break;
                }
            }
        }
        size_t saved = jf_push(j, "%s%s", j->plen ? "." : "", name);
        if (!jv) {
            codec_errf(j->err, j->errlen, "missing required field '%s'", j->path);
            jf_pop(j, saved);
            return -1;
        }
        avro_value_t f;
        int rc = avro_value_get_by_index(v, i, &f, NULL) != 0
                     ? jf_fail(j, "%s", avro_strerror())
                     : codec_jf_value(j, &f, avro_schema_record_field_get_by_index(s, (int)i),
                                      jv);
        jf_pop(j, saved);
        if (rc < 0)
            return -1;
    }
    const char *k;
    json_t *jv;
    json_object_foreach((json_t *)js, k, jv) {
        if (avro_schema_record_field_get_index(s, k) < 0) {
            size_t saved = jf_push(j, "%s%s", j->plen ? "." : "", k);
            codec_errf(j->err, j->errlen, "unknown field '%s'", j->path);
            jf_pop(j, saved);
            return -1;
        }
    }
    return 0;
}

static int jf_union(struct jfill *j, avro_value_t *v, avro_schema_t s,
                    const json_t *js)
{
    size_t n = avro_schema_union_size(s);
    int pick = -1;
    const json_t *inner = js;
    /* Avro's JSON encoding: {"string": "x"}. */
    if (json_is_object(js) && json_object_size(js) == 1) {
        const char *key = json_object_iter_key(json_object_iter((json_t *)js));
        for (size_t i = 0; i < n; i++) {
            if (branch_named(avro_schema_union_branch(s, (int)i), key)) {
                pick = (int)i;
                inner = json_object_get(js, key);
                break;
            }
        }
    }
    for (size_t i = 0; pick < 0 && i < n; i++)
        if (json_fits(avro_schema_union_branch(s, (int)i), js))
            pick = (int)i;
    if (pick < 0)
        return jf_fail(j, "%s matches no branch of the union", json_type_name(js));
    avro_value_t b;
    if (avro_value_set_branch(v, pick, &b) != 0)
        return jf_fail(j, "%s", avro_strerror());
    return codec_jf_value(j, &b, avro_schema_union_branch(s, pick), inner);
}

int codec_jf_value(struct jfill *j, avro_value_t *v, avro_schema_t s,
                   const json_t *js)
{
    s = codec_skip_links(s);
    int rc = 0;
    switch (avro_typeof(s)) {
    case AVRO_RECORD:
        return jf_record(j, v, s, js);
    case AVRO_UNION:
        return jf_union(j, v, s, js);
    case AVRO_NULL:
        if (!json_is_null(js))
            return jf_fail(j, "expected null, got %s", json_type_name(js));
        rc = avro_value_set_null(v);
        break;
    case AVRO_BOOLEAN:
        if (!json_is_boolean(js))
            return jf_fail(j, "expected a boolean, got %s", json_type_name(js));
        rc = avro_value_set_boolean(v, json_is_true(js));
        break;
    case AVRO_INT32: {
        if (!json_is_integer(js))
            return jf_fail(j, "expected an integer, got %s", json_type_name(js));
        json_int_t i = json_integer_value(js);
        if (i < INT32_MIN || i > INT32_MAX)
            return jf_fail(j, "%lld does not fit an int", (long long)i);
        rc = avro_value_set_int(v, (int32_t)i);
        break;
    }
    case AVRO_INT64:
        if (!json_is_integer(js))
            return jf_fail(j, "expected an integer, got %s", json_type_name(js));
        rc = avro_value_set_long(v, (int64_t)json_integer_value(js));
        break;
    case AVRO_FLOAT:
    case AVRO_DOUBLE:
        if (!json_is_number(js))
            return jf_fail(j, "expected a number, got %s", json_type_name(js));
        rc = avro_typeof(s) == AVRO_FLOAT
                 ? avro_value_set_float(v, (float)json_number_value(js))
                 : avro_value_set_double(v, json_number_value(js));
        break;
    case AVRO_STRING:
        if (!json_is_string(js))
            return jf_fail(j, "expected a string, got %s", json_type_name(js));
        rc = avro_value_set_string(v, json_string_value(js));
        break;
    case AVRO_BYTES:
        if (!json_is_string(js))
            return jf_fail(j, "expected a string, got %s", json_type_name(js));
        rc = avro_value_set_bytes(v, (void *)json_string_value(js),
                                  json_string_length(js));
        break;
    case AVRO_ENUM: {
        if (!json_is_string(js))
            return jf_fail(j, "expected an enum symbol, got %s", json_type_name(js));
        int idx = avro_schema_enum_get_by_name(s, json_string_value(js));
        if (idx < 0) {
            char syms[160] = "";
            size_t len = 0;
            int n = avro_schema_enum_number_of_symbols(s);
            for (int i = 0; i < n && len < sizeof(syms); i++) {
                int w = snprintf(syms + len, sizeof(syms) - len, "%s%s", i ? ", " : "",
                                 avro_schema_enum_get(s, i));
                if (w < 0)
                    break;
                len += (size_t)w;
            }
            return jf_fail(j, "unknown symbol '%s' (expected one of %s)",
                           json_string_value(js), syms);
        }
        rc = avro_value_set_enum(v, idx);
        break;
    }
    case AVRO_ARRAY: {
        if (!json_is_array(js))
            return jf_fail(j, "expected an array, got %s", json_type_name(js));
        size_t i;
        json_t *item;
        json_array_foreach(js, i, item) {
            avro_value_t child;
            size_t saved = jf_push(j, "[%zu]", i);
            int r = avro_value_append(v, &child, NULL) != 0
                        ? jf_fail(j, "%s", avro_strerror())
                        : codec_jf_value(j, &child, avro_schema_array_items(s), item);
            jf_pop(j, saved);
            if (r < 0)
                return -1;
        }
        break;
    }
    case AVRO_MAP: {
        if (!json_is_object(js))
            return jf_fail(j, "expected an object, got %s", json_type_name(js));
        const char *k;
        json_t *item;
        json_object_foreach((json_t *)js, k, item) {
            avro_value_t child;
            size_t saved = jf_push(j, "[\"%s\"]", k);
            int r = avro_value_add(v, k, &child, NULL, NULL) != 0
                        ? jf_fail(j, "%s", avro_strerror())
                        : codec_jf_value(j, &child, avro_schema_map_values(s), item);
            jf_pop(j, saved);
            if (r < 0)
                return -1;
        }
        break;
    }
    default:
        return jf_fail(j, "schema type %s is not supported", avro_schema_type_name(s));
    }
    if (rc != 0)
        return jf_fail(j, "%s", avro_strerror());
    return 0;
}


int codec_json_to_avro(struct codec *c, const char *record, const char *json,
                       struct buf *out, char *err, size_t errlen)
{
    return codec_json_to_message(c, record, json, out, NULL, 0, err, errlen);
}

int codec_json_to_message(struct codec *c, const char *record,
                          const char *json, struct buf *out, char *key,
                          size_t keylen, char *err, size_t errlen)
{
    int r = record ? codec_find_record(record) : -1;
    if (r < 0) {
        codec_errf(err, errlen, "unknown record '%s'", record ? record : "(null)");
        return -1;
    }
    if (c->rec[r].current < 0) {
        codec_errf(err, errlen, "schemas.ids: no id names %s.avsc (the schema of %s)",
                   records_table[r].schema, records_table[r].record);
        return -1;
    }
    struct wschema *w = &c->ws[c->rec[r].current];
    json_error_t je;
    json_t *root = json_loads(json, JSON_REJECT_DUPLICATES, &je);
    int rc = -1;
    if (!root) {
        codec_errf(err, errlen, "invalid JSON at line %d column %d: %s", je.line,
                   je.column, je.text);
        goto out;
    }
    if (!json_is_object(root)) {
        codec_errf(err, errlen, "expected a JSON object, got %s", json_type_name(root));
        goto out;
    }
    if (avro_value_reset(&w->value) != 0) {
        codec_errf(err, errlen, "cannot reset the value: %s", avro_strerror());
        goto out;
    }
    struct jfill j = {.schema_json = w->json, .err = err, .errlen = errlen};
    if (codec_jf_value(&j, &w->value, w->schema, root) < 0)
        goto out;
    if (key) {
        const char *kname = records_table[r].key_field;
        const char *kv = json_string_value(json_object_get(root, kname));
        if (!kv || strlen(kv) >= keylen) {
            codec_errf(err, errlen, "%s %s", kname, kv ? "too long for the key buffer"
                       : "missing: no message key");
            goto out;
        }
        memcpy(key, kv, strlen(kv) + 1);
    }
    rc = codec_frame_value(c, w->id, &w->value, out, err, errlen);
out:
    json_decref(root);
    return rc;
}

/* ------------------------------------------------------------------------
 * Avro -> JSON (the consume tool)
 */

int codec_avro_to_json(struct codec *c, const void *val, size_t vlen,
                       struct buf *out, char *err, size_t errlen)
{
    struct wschema *w;
    struct codec_error ce;
    if (codec_frame_parse(c, val, vlen, &w, &ce) < 0) {
        codec_errf(err, errlen, "%s: %s", ce.reason, ce.message);
        return -1;
    }
    buf_reset(out);
    struct scan s = {.p = (const uint8_t *)val + 5,
                     .end = (const uint8_t *)val + vlen,
                     .json = out};
    codec_scan_datum(&s, w->schema, NULL);
    const char *msg = s.hard ? s.hard_msg : s.bad_utf8 ? s.utf8_msg
                                        : s.bad_field  ? s.field_msg
                                                       : NULL;
    if (msg) {
        codec_errf(err, errlen, "schema id %" PRId32 " (%s): %s", w->id, w->fullname, msg);
        buf_reset(out);
        return -1;
    }
    buf_reserve(out, 1);
    out->data[out->len] = '\0';
    return 0;
}
