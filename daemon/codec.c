/*
 * codec.c - the Avro C adapter (see codec.h for the contract): opening the
 * schemas, the small helpers the codec's files share, and look-ups.
 *
 * Everything derived from a schema is made here, once: per writer id its
 * generic value class and one reusable value; for an input record, when
 * the writer is not the reader, a resolver into the reader. Avro C's
 * resolver cannot use reader defaults (it rejects a reader field the writer
 * lacks), so each writer is resolved against an "effective" reader - the
 * reader minus what that writer lacks, each of which needs a default in
 * the reader .avsc - and the defaults are taken from the .avsc JSON. Enum
 * indexes are mapped writer -> reader by symbol name, which Avro C does not.
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
 * Small helpers
 */

void codec_errf(char *err, size_t errlen, const char *fmt, ...)
{
    if (!err || !errlen)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

void codec_cerr(struct codec_error *e, const char *reason, const char *fmt,
                ...)
{
    if (!e)
        return;
    e->reason = reason;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->message, sizeof(e->message), fmt, ap);
    va_end(ap);
}

/* Strict UTF-8 (no overlongs, surrogates or code points past U+10FFFF).
 * Returns true, or false with the offset of the first bad byte. */
bool codec_utf8_valid(const uint8_t *s, size_t n, size_t *bad)
{
    size_t i = 0;
    while (i < n) {
        uint8_t c = s[i];
        if (c < 0x80) {
            i++;
            continue;
        }
        size_t len;
        uint8_t lo = 0x80, hi = 0xbf;
        if (c >= 0xc2 && c <= 0xdf) {
            len = 2;
        } else if (c >= 0xe0 && c <= 0xef) {
            len = 3;
            if (c == 0xe0)
                lo = 0xa0;
            else if (c == 0xed)
                hi = 0x9f;
        } else if (c >= 0xf0 && c <= 0xf4) {
            len = 4;
            if (c == 0xf0)
                lo = 0x90;
            else if (c == 0xf4)
                hi = 0x8f;
        } else {
            *bad = i;
            return false;
        }
        if (n - i < len || s[i + 1] < lo || s[i + 1] > hi) {
            *bad = i;
            return false;
        }
        for (size_t k = 2; k < len; k++) {
            if ((s[i + k] & 0xc0) != 0x80) {
                *bad = i;
                return false;
            }
        }
        i += len;
    }
    return true;
}

avro_schema_t codec_skip_links(avro_schema_t s)
{
    while (s && avro_typeof(s) == AVRO_LINK)
        s = avro_schema_link_target(s);
    return s;
}

bool codec_is_opt_of(avro_schema_t s, avro_type_t t)
{
    if (avro_typeof(s) != AVRO_UNION || avro_schema_union_size(s) != 2)
        return false;
    avro_type_t a = avro_typeof(codec_skip_links(avro_schema_union_branch(s, 0)));
    avro_type_t b = avro_typeof(codec_skip_links(avro_schema_union_branch(s, 1)));
    return (a == AVRO_NULL && b == t) || (a == t && b == AVRO_NULL);
}

void codec_schema_fullname(avro_schema_t s, char *out, size_t n)
{
    const char *ns = avro_schema_namespace(s);
    const char *name = avro_schema_name(s);
    if (ns && *ns)
        snprintf(out, n, "%s.%s", ns, name ? name : "");
    else
        snprintf(out, n, "%s", name ? name : "");
}

/* Index of a record name (short or with the namespace) among ours, or -1. */
int codec_find_record(const char *name)
{
    const struct record_def *r = records_find(name);
    if (!r || r->dir == RECORD_PLAIN)
        return -1;
    return (int)r->id;
}

struct wschema *codec_find_ws(const struct codec *c, int32_t id)
{
    size_t lo = 0, hi = c->n_ws;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (c->ws[mid].id == id)
            return &c->ws[mid];
        if (c->ws[mid].id < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    for (size_t i = 0; i < c->n_extra; i++) /* a handful at most */
        if (c->extra[i]->id == id)
            return c->extra[i];
    return NULL;
}

/* ------------------------------------------------------------------------
 * Lookups
 */

bool codec_reads(const struct codec *c, enum event_kind k)
{
    return (unsigned)k < EVENT_KIND_COUNT && c->rec[k].current >= 0;
}

bool codec_writes(const struct codec *c, enum alert_kind k)
{
    return (unsigned)k < ALERT_KIND_COUNT && c->rec[REC_INPUTS + k].current >= 0;
}

const char *codec_record_of_alert(enum alert_kind k)
{
    const struct record_def *r = records_of_alert((int)k);
    return r ? r->record : NULL;
}
int32_t codec_writer_id(const struct codec *c, const char *record)
{
    int r = record ? codec_find_record(record) : -1;
    if (r < 0 || c->rec[r].current < 0)
        return -1;
    return c->ws[c->rec[r].current].id;
}

/* ------------------------------------------------------------------------
 * Opening
 */

/* Parses one schema's text (named `name` in errors): its JSON (for
 * defaults) and its Avro schema. */
static int parse_schema(const char *name, const char *text, size_t n,
                        json_t **json, avro_schema_t *schema, char *err,
                        size_t errlen)
{
    json_error_t je;
    *schema = NULL;
    *json = json_loadb(text, n, JSON_REJECT_DUPLICATES, &je);
    if (!*json) {
        codec_errf(err, errlen, "%s:%d:%d: %s", name, je.line, je.column, je.text);
        goto fail;
    }
    if (avro_schema_from_json_length(text, n, schema) != 0) {
        codec_errf(err, errlen, "%s: not a valid Avro schema: %s", name, avro_strerror());
        goto fail;
    }
    if (avro_typeof(*schema) != AVRO_RECORD) {
        codec_errf(err, errlen, "%s: the top-level schema must be a record", name);
        goto fail;
    }
    return 0;
fail:
    json_decref(*json);
    *json = NULL;
    if (*schema)
        avro_schema_decref(*schema);
    *schema = NULL;
    return -1;
}

/* Reads and parses one .avsc: its JSON (for defaults) and its Avro schema. */
static int load_schema(const char *path, json_t **json, avro_schema_t *schema,
                       char *err, size_t errlen)
{
    int rc = -1;
    char *text = NULL;
    FILE *fp = fopen(path, "rb");
    *json = NULL;
    *schema = NULL;
    if (!fp) {
        codec_errf(err, errlen, "%s: %s", path, strerror(errno));
        goto out;
    }
    text = malloc(CODEC_MAX_SCHEMA_BYTES + 1);
    if (!text) {
        codec_errf(err, errlen, "%s: out of memory", path);
        goto out;
    }
    size_t n = fread(text, 1, CODEC_MAX_SCHEMA_BYTES + 1, fp);
    if (ferror(fp) || n > CODEC_MAX_SCHEMA_BYTES) {
        codec_errf(err, errlen, "%s: %s", path,
                   ferror(fp) ? "read error" : "larger than 1 MiB");
        goto out;
    }
    rc = parse_schema(path, text, n, json, schema, err, errlen);
out:
    free(text);
    if (fp)
        fclose(fp);
    return rc;
}

const json_t *codec_json_field(const json_t *rec_json, const char *name)
{
    size_t i;
    json_t *f;
    json_array_foreach(json_object_get(rec_json, "fields"), i, f) {
        const json_t *n = json_object_get(f, "name");
        if (json_is_string(n) && strcmp(json_string_value(n), name) == 0)
            return f;
    }
    return NULL;
}

static const char *fkind_avro(enum record_ftype k)
{
    switch (k) {
    case FIELD_STR: return "string";
    case FIELD_OPT_STR: return "[\"null\", \"string\"]";
    case FIELD_INT: return "int";
    case FIELD_LONG: return "long";
    case FIELD_BOOL: return "boolean";
    case FIELD_OPT_DOUBLE: return "[\"null\", \"double\"]";
    case FIELD_ENUM: return "enum";
    case FIELD_DOUBLE: return "double";
    case FIELD_OPT_LONG: return "[\"null\", \"long\"]";
    case FIELD_STRLIST: return "array<string>";
    default: return "map<string>";
    }
}

static bool fkind_matches(enum record_ftype k, avro_schema_t s)
{
    s = codec_skip_links(s);
    switch (k) {
    case FIELD_STR: return avro_typeof(s) == AVRO_STRING;
    case FIELD_OPT_STR: return codec_is_opt_of(s, AVRO_STRING);
    case FIELD_INT: return avro_typeof(s) == AVRO_INT32;
    case FIELD_LONG: return avro_typeof(s) == AVRO_INT64;
    case FIELD_BOOL: return avro_typeof(s) == AVRO_BOOLEAN;
    case FIELD_OPT_DOUBLE: return codec_is_opt_of(s, AVRO_DOUBLE);
    case FIELD_ENUM: return avro_typeof(s) == AVRO_ENUM;
    case FIELD_DOUBLE: return avro_typeof(s) == AVRO_DOUBLE;
    case FIELD_OPT_LONG: return codec_is_opt_of(s, AVRO_INT64);
    case FIELD_STRLIST:
        return avro_typeof(s) == AVRO_ARRAY &&
               avro_typeof(codec_skip_links(avro_schema_array_items(s))) == AVRO_STRING;
    default:
        return avro_typeof(s) == AVRO_MAP &&
               avro_typeof(codec_skip_links(avro_schema_map_values(s))) == AVRO_STRING;
    }
}

/* Checks that the reader of an input record has the fields event.h needs,
 * with the right types, and converts their defaults. */
static int record_prepare_input(struct record *rec, int r, char *err, size_t errlen)
{
    const struct record_field *specs = records_table[r].fields;
    size_t n = records_table[r].n_fields;
    rec->defaults = calloc(n, sizeof(*rec->defaults));
    if (!rec->defaults) {
        codec_errf(err, errlen, "out of memory");
        return -1;
    }
    rec->key_field = -1;
    for (size_t i = 0; i < n; i++) {
        const struct record_field *f = &specs[i];
        if (f->type == FIELD_STR && strcmp(f->name, records_table[r].key_field) == 0)
            rec->key_field = (int)i;
        int idx = avro_schema_record_field_get_index(rec->schema, f->name);
        if (idx < 0 ||
            !fkind_matches(f->type, avro_schema_record_field_get_by_index(rec->schema, idx))) {
            codec_errf(err, errlen, "%s: field '%s' must exist with type %s", rec->path,
                       f->name, fkind_avro(f->type));
            return -1;
        }
        const json_t *jf = codec_json_field(rec->json, f->name);
        const json_t *d = jf ? json_object_get(jf, "default") : NULL;
        struct fdefault *fd = &rec->defaults[i];
        if (!d)
            continue;
        bool ok = true;
        switch (f->type) {
        case FIELD_STR: ok = json_is_string(d); fd->s = json_string_value(d); break;
        case FIELD_OPT_STR:
            ok = json_is_null(d) || json_is_string(d);
            fd->s = json_is_string(d) ? json_string_value(d) : NULL;
            break;
        case FIELD_INT:
        case FIELD_LONG: ok = json_is_integer(d); fd->i = json_integer_value(d); break;
        case FIELD_BOOL: ok = json_is_boolean(d); fd->b = json_is_true(d); break;
        case FIELD_OPT_DOUBLE:
            ok = json_is_null(d) || json_is_number(d);
            fd->b = json_is_number(d);
            fd->d = json_is_number(d) ? json_number_value(d) : 0;
            break;
        case FIELD_ENUM: {
            int v;
            ok = json_is_string(d) && f->parse(json_string_value(d), &v) == 0;
            fd->i = ok ? v : 0;
            break;
        }
        case FIELD_STRMAP: ok = json_is_object(d) && json_object_size(d) == 0; break;
        case FIELD_DOUBLE: ok = json_is_number(d); fd->d = ok ? json_number_value(d) : 0; break;
        case FIELD_OPT_LONG:
            ok = json_is_null(d) || json_is_integer(d);
            fd->b = json_is_integer(d);
            fd->i = json_is_integer(d) ? json_integer_value(d) : 0;
            break;
        case FIELD_STRLIST: ok = json_is_array(d) && json_array_size(d) == 0; break;
        }
        if (!ok) {
            codec_errf(err, errlen, "%s: field '%s': unsupported default value", rec->path,
                       f->name);
            return -1;
        }
        fd->present = true;
    }
    if (rec->key_field < 0) {
        codec_errf(err, errlen, "%s: the key field '%s' is not a string field of %s",
                   rec->path, records_table[r].key_field, records_table[r].record);
        return -1;
    }
    return 0;
}

/* Collects the enums of a schema (named definitions only, links skipped). */
static void collect_enums(avro_schema_t s, avro_schema_t *out, size_t *n, size_t cap,
                          int depth)
{
    if (!s || depth > CODEC_MAX_DEPTH || avro_typeof(s) == AVRO_LINK)
        return;
    switch (avro_typeof(s)) {
    case AVRO_ENUM:
        if (*n < cap)
            out[(*n)++] = s;
        break;
    case AVRO_RECORD:
        for (size_t i = 0; i < avro_schema_record_size(s); i++)
            collect_enums(avro_schema_record_field_get_by_index(s, (int)i), out, n,
                          cap, depth + 1);
        break;
    case AVRO_UNION:
        for (size_t i = 0; i < avro_schema_union_size(s); i++)
            collect_enums(avro_schema_union_branch(s, (int)i), out, n, cap, depth + 1);
        break;
    case AVRO_ARRAY:
        collect_enums(avro_schema_array_items(s), out, n, cap, depth + 1);
        break;
    case AVRO_MAP:
        collect_enums(avro_schema_map_values(s), out, n, cap, depth + 1);
        break;
    default:
        break;
    }
}

#define CODEC_MAX_ENUMS 64

static int build_enum_maps(struct wschema *w, char *err, size_t errlen)
{
    avro_schema_t wen[CODEC_MAX_ENUMS], ren[CODEC_MAX_ENUMS];
    size_t nw = 0, nr = 0;
    collect_enums(w->schema, wen, &nw, CODEC_MAX_ENUMS, 0);
    collect_enums(w->eff, ren, &nr, CODEC_MAX_ENUMS, 0);
    if (nw == 0)
        return 0;
    w->enums = calloc(nw, sizeof(*w->enums));
    if (!w->enums) {
        codec_errf(err, errlen, "out of memory");
        return -1;
    }
    for (size_t i = 0; i < nw; i++) {
        char wname[128], rname[128];
        codec_schema_fullname(wen[i], wname, sizeof(wname));
        avro_schema_t rs = NULL;
        for (size_t k = 0; k < nr && !rs; k++) {
            codec_schema_fullname(ren[k], rname, sizeof(rname));
            if (strcmp(wname, rname) == 0)
                rs = ren[k];
        }
        struct enum_map *m = &w->enums[w->n_enums++];
        m->wenum = wen[i];
        m->n = avro_schema_enum_number_of_symbols(wen[i]);
        m->to_reader = calloc(m->n ? (size_t)m->n : 1, sizeof(int));
        if (!m->to_reader) {
            codec_errf(err, errlen, "out of memory");
            return -1;
        }
        for (int s = 0; s < m->n; s++)
            m->to_reader[s] =
                rs ? avro_schema_enum_get_by_name(rs, avro_schema_enum_get(wen[i], s))
                   : -1;
    }
    return 0;
}

/* The direct walk's table (writer = reader): field_idx is set. */
static int build_direct(struct wschema *w, char *err, size_t errlen)
{
    size_t n = avro_schema_record_size(w->schema);
    w->direct = calloc(n ? n : 1, sizeof(*w->direct));
    if (!w->direct) {
        codec_errf(err, errlen, "out of memory");
        return -1;
    }
    w->n_direct = n;
    for (size_t j = 0; j < n; j++) {
        struct direct_field *d = &w->direct[j];
        d->name = avro_schema_record_field_name(w->schema, (int)j);
        d->sc = codec_skip_links(avro_schema_record_field_get_by_index(w->schema, (int)j));
    }
    for (size_t i = 0; i < records_table[w->rec].n_fields; i++) {
        const struct record_field *f = &records_table[w->rec].fields[i];
        if (w->field_idx[i] < 0)
            continue;
        struct direct_field *d = &w->direct[w->field_idx[i]];
        d->spec = f;
        if (f->type != FIELD_ENUM)
            continue;
        int ns = avro_schema_enum_number_of_symbols(d->sc);
        d->enum_val = calloc(ns > 0 ? (size_t)ns : 1, sizeof(int));
        if (!d->enum_val) {
            codec_errf(err, errlen, "out of memory");
            return -1;
        }
        for (int k = 0; k < ns; k++)
            if (f->parse(avro_schema_enum_get(d->sc, k), &d->enum_val[k]) != 0)
                d->enum_val[k] = ENUM_UNHANDLED;
    }
    return 0;
}

/* The reader of input record `rec` as writer `w` can fill it: its fields
 * minus those w lacks (which need a default), resolved by Avro C. */
static int resolve_input(struct codec *c, struct wschema *w, char *err, size_t errlen)
{
    struct record *rec = &c->rec[w->rec];
    int rc = -1;
    char *text = NULL;
    json_t *eff = json_deep_copy(rec->json);
    json_t *fields = eff ? json_object_get(eff, "fields") : NULL;
    if (!json_is_array(fields)) {
        codec_errf(err, errlen, "%s: no fields", rec->path);
        goto out;
    }
    for (size_t i = json_array_size(fields); i-- > 0;) {
        json_t *f = json_array_get(fields, i);
        const char *name = json_string_value(json_object_get(f, "name"));
        if (!name || avro_schema_record_field_get_index(w->schema, name) >= 0)
            continue;
        if (!json_object_get(f, "default")) {
            codec_errf(err, errlen,
                       "schema id %" PRId32 " (%s) cannot be read as %s: it lacks field "
                       "'%s', which has no default in %s",
                       w->id, w->path, rec->fullname, name, rec->path);
            goto out;
        }
        json_array_remove(fields, i);
    }
    text = json_dumps(eff, JSON_COMPACT);
    if (!text || avro_schema_from_json_length(text, strlen(text), &w->eff) != 0) {
        codec_errf(err, errlen, "schema id %" PRId32 ": cannot build its reader: %s", w->id,
                   avro_strerror());
        goto out;
    }
    w->reader_iface = avro_generic_class_from_schema(w->eff);
    if (!w->reader_iface ||
        avro_generic_value_new(w->reader_iface, &w->reader_value) != 0) {
        codec_errf(err, errlen, "schema id %" PRId32 ": %s", w->id, avro_strerror());
        goto out;
    }
    /* Equal schemas (the usual case): the walk fills reader_value itself. */
    if (!avro_schema_equal(w->schema, w->eff)) {
        w->resolver = avro_resolved_writer_new(w->schema, w->eff);
        if (!w->resolver) {
            codec_errf(err, errlen, "schema id %" PRId32 " (%s) cannot be read as %s: %s",
                       w->id, w->path, rec->fullname, avro_strerror());
            goto out;
        }
        if (avro_resolved_writer_new_value(w->resolver, &w->resolved) != 0) {
            codec_errf(err, errlen, "schema id %" PRId32 ": %s", w->id, avro_strerror());
            goto out;
        }
        avro_resolved_writer_set_dest(&w->resolved, &w->reader_value);
    }

    size_t n = records_table[w->rec].n_fields;
    w->field_idx = calloc(n, sizeof(int));
    if (!w->field_idx) {
        codec_errf(err, errlen, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        const char *name = records_table[w->rec].fields[i].name;
        w->field_idx[i] = avro_schema_record_field_get_index(w->eff, name);
        if (w->field_idx[i] < 0 && !rec->defaults[i].present) {
            codec_errf(err, errlen, "schema id %" PRId32 " lacks field '%s'", w->id, name);
            goto out;
        }
    }
    rc = build_enum_maps(w, err, errlen);
    if (rc == 0 && !w->resolver)
        rc = build_direct(w, err, errlen);
out:
    free(text);
    json_decref(eff);
    return rc;
}

static int same_file(const char *a_real, const char *path)
{
    char *r = realpath(path, NULL);
    int same = r && strcmp(r, a_real) == 0;
    free(r);
    return same;
}

static int cmp_ws(const void *a, const void *b)
{
    const struct wschema *x = a, *y = b;
    return (x->id > y->id) - (x->id < y->id);
}

static int parse_id(const char *s, int32_t *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < 0 || v > INT32_MAX)
        return -1;
    *out = (int32_t)v;
    return 0;
}

int codec_open(const struct config_schemas *schemas, struct codec **out,
               char *err, size_t errlen)
{
    int rc = -1;
    struct codec *c = calloc(1, sizeof(*c));
    *out = NULL;
    if (!c) {
        codec_errf(err, errlen, "out of memory");
        return -1;
    }
    for (int r = 0; r < REC_COUNT; r++)
        c->rec[r].current = -1;
    static char dummy[1];
    c->writer = avro_writer_memory(dummy, sizeof(dummy));
    if (!c->writer) {
        codec_errf(err, errlen, "cannot create an Avro writer: %s", avro_strerror());
        goto out;
    }
    if (!schemas || !schemas->dir) {
        codec_errf(err, errlen, "schemas.dir is not set");
        goto out;
    }

    /* Reader schemas. */
    for (int r = 0; r < REC_COUNT; r++) {
        struct record *rec = &c->rec[r];
        char path[4096];
        snprintf(rec->fullname, sizeof(rec->fullname), "%s.%s", CODEC_NAMESPACE,
                 records_table[r].record);
        snprintf(path, sizeof(path), "%s/%s.avsc", schemas->dir, records_table[r].schema);
        /* A record whose reader is absent stays unknown (codec_reads(),
         * codec_writes()); a folder of schemas copied before the record
         * existed still serves the others. */
        if (access(path, F_OK) != 0 && errno == ENOENT)
            continue;
        if (load_schema(path, &rec->json, &rec->schema, err, errlen) < 0)
            goto out;
        rec->path = realpath(path, NULL);
        if (!rec->path) {
            codec_errf(err, errlen, "%s: %s", path, strerror(errno));
            goto out;
        }
        char full[128];
        codec_schema_fullname(rec->schema, full, sizeof(full));
        if (strcmp(full, rec->fullname) != 0) {
            codec_errf(err, errlen, "%s: defines %s, expected %s", path, full, rec->fullname);
            goto out;
        }
        if (r < REC_INPUTS && record_prepare_input(rec, r, err, errlen) < 0)
            goto out;
    }

    /* Writer schemas, by id. */
    c->ws = calloc(schemas->ids.n ? schemas->ids.n : 1, sizeof(*c->ws));
    if (!c->ws) {
        codec_errf(err, errlen, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < schemas->ids.n; i++) {
        const struct cfg_kv *kv = &schemas->ids.v[i];
        struct wschema *w = &c->ws[c->n_ws];
        if (parse_id(kv->key, &w->id) < 0) {
            codec_errf(err, errlen, "schemas.ids: '%s' is not a schema id (0..2147483647)",
                       kv->key);
            goto out;
        }
        w->rec = -1;
        w->path = strdup(kv->value);
        c->n_ws++;
        if (!w->path) {
            codec_errf(err, errlen, "out of memory");
            goto out;
        }
        if (load_schema(kv->value, &w->json, &w->schema, err, errlen) < 0)
            goto out;
        codec_schema_fullname(w->schema, w->fullname, sizeof(w->fullname));
        w->rec = codec_find_record(w->fullname);
        if (w->rec >= 0 && strncmp(w->fullname, CODEC_NAMESPACE ".",
                                   sizeof(CODEC_NAMESPACE)) != 0)
            w->rec = -1; /* same short name, another namespace: not ours */
        if (w->rec >= 0 && !c->rec[w->rec].schema) {
            codec_errf(err, errlen, "schema id %" PRId32 " is %s, but %s/%s.avsc, "
                       "its reader schema, is missing", w->id, w->fullname,
                       schemas->dir, records_table[w->rec].schema);
            goto out;
        }
        w->iface = avro_generic_class_from_schema(w->schema);
        if (!w->iface || avro_generic_value_new(w->iface, &w->value) != 0) {
            codec_errf(err, errlen, "schema id %" PRId32 ": %s", w->id, avro_strerror());
            goto out;
        }
    }
    qsort(c->ws, c->n_ws, sizeof(*c->ws), cmp_ws);
    for (size_t i = 1; i < c->n_ws; i++) {
        if (c->ws[i].id == c->ws[i - 1].id) {
            codec_errf(err, errlen, "schemas.ids: id %" PRId32 " is given twice", c->ws[i].id);
            goto out;
        }
    }
    /* The current writer of a record is the id naming its reader file. */
    for (size_t i = 0; i < c->n_ws; i++) {
        struct wschema *w = &c->ws[i];
        if (w->rec >= 0 && same_file(c->rec[w->rec].path, w->path)) {
            if (c->rec[w->rec].current >= 0) {
                codec_errf(err, errlen, "schemas.ids: ids %" PRId32 " and %" PRId32
                           " both name %s", c->ws[c->rec[w->rec].current].id, w->id,
                           c->rec[w->rec].path);
                goto out;
            }
            c->rec[w->rec].current = (int)i;
        }
        if (w->rec >= 0 && w->rec < REC_INPUTS && resolve_input(c, w, err, errlen) < 0)
            goto out;
    }
    /* A record without a writer id can be neither read (its messages go
     * to the DLQ as unknown_schema_id) nor written, but does not stop a
     * config written before the record existed: the runtime refuses to
     * start only when an enabled processor reads or emits it. */
    /* Alerts are written with each record's current schema. */
    for (int r = REC_INPUTS; r < REC_COUNT; r++)
        if (c->rec[r].current >= 0 &&
            codec_prepare_alert_writer(&c->ws[c->rec[r].current],
                                       (enum alert_kind)(r - REC_INPUTS), err,
                                       errlen) < 0)
            goto out;
    rc = 0;
out:
    if (rc < 0) {
        codec_free(c);
        return -1;
    }
    *out = c;
    return 0;
}

static void wschema_free(struct wschema *w)
{
    if (w->resolved.iface)
        avro_value_decref(&w->resolved);
    if (w->reader_value.iface)
        avro_value_decref(&w->reader_value);
    if (w->resolver)
        avro_value_iface_decref(w->resolver);
    if (w->reader_iface)
        avro_value_iface_decref(w->reader_iface);
    if (w->value.iface)
        avro_value_decref(&w->value);
    if (w->iface)
        avro_value_iface_decref(w->iface);
    if (w->eff)
        avro_schema_decref(w->eff);
    if (w->schema)
        avro_schema_decref(w->schema);
    json_decref(w->json);
    for (size_t i = 0; i < w->n_enums; i++)
        free(w->enums[i].to_reader);
    free(w->enums);
    free(w->field_idx);
    for (size_t i = 0; i < w->n_direct; i++)
        free(w->direct[i].enum_val);
    free(w->direct);
    free(w->plan);
    free(w->others);
    free(w->path);
}

int codec_add_writer(struct codec *c, int32_t id, const char *text,
                     size_t len, char *err, size_t errlen)
{
    char name[32];
    snprintf(name, sizeof(name), "schema id %" PRId32, id);
    if (codec_find_ws(c, id)) {
        codec_errf(err, errlen, "%s is known already", name);
        return -1;
    }
    if (len > CODEC_MAX_SCHEMA_BYTES) {
        codec_errf(err, errlen, "%s: larger than 1 MiB", name);
        return -1;
    }
    struct wschema *w = calloc(1, sizeof(*w));
    struct wschema **v = realloc(c->extra, (c->n_extra + 1) * sizeof(*v));
    if (!w || !v) {
        free(w);
        if (v)
            c->extra = v;
        codec_errf(err, errlen, "out of memory");
        return -1;
    }
    c->extra = v;
    w->id = id;
    w->rec = -1;
    if (!(w->path = strdup(name))) {
        codec_errf(err, errlen, "out of memory");
        goto fail;
    }
    if (parse_schema(name, text, len, &w->json, &w->schema, err, errlen) < 0)
        goto fail;
    codec_schema_fullname(w->schema, w->fullname, sizeof(w->fullname));
    w->rec = codec_find_record(w->fullname);
    if (w->rec >= 0 && strncmp(w->fullname, CODEC_NAMESPACE ".",
                               sizeof(CODEC_NAMESPACE)) != 0)
        w->rec = -1;
    if (w->rec >= 0 && !c->rec[w->rec].schema) {
        codec_errf(err, errlen, "%s is %s, which has no reader schema", name,
                   w->fullname);
        goto fail;
    }
    w->iface = avro_generic_class_from_schema(w->schema);
    if (!w->iface || avro_generic_value_new(w->iface, &w->value) != 0) {
        codec_errf(err, errlen, "%s: %s", name, avro_strerror());
        goto fail;
    }
    if (w->rec >= 0 && w->rec < REC_INPUTS && resolve_input(c, w, err, errlen) < 0)
        goto fail;
    c->extra[c->n_extra++] = w;
    return 0;
fail:
    wschema_free(w);
    free(w);
    return -1;
}

void codec_free(struct codec *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->n_ws; i++)
        wschema_free(&c->ws[i]);
    free(c->ws);
    for (size_t i = 0; i < c->n_extra; i++) {
        wschema_free(c->extra[i]);
        free(c->extra[i]);
    }
    free(c->extra);
    for (int r = 0; r < REC_COUNT; r++) {
        struct record *rec = &c->rec[r];
        if (rec->schema)
            avro_schema_decref(rec->schema);
        json_decref(rec->json);
        free(rec->path);
        free(rec->defaults);
    }
    if (c->writer)
        avro_writer_free(c->writer);
    free(c);
}
