/*
 * codec_decode.c - input records into struct event.
 *
 * When the writer schema is the reader's (the usual case) the walk stores
 * the fields struct event takes straight into it (scan_event), without
 * going through a generic value and reading it back; otherwise through the
 * resolved reader value. Both paths fail the same way on the same bytes
 * (docs/PERFORMANCE.md has what the direct path saves).
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

/*
 * The direct walk: when the writer's schema is the reader's, the fields
 * struct event needs go straight from the bytes into it. Feeding Avro C's
 * generic value and reading it back (per field a schema lookup by index,
 * a generic setter, a getter) was ~2/3 of decoding. The checks are
 * scan_value's, so a datum fails the same way on both paths.
 */

/* A null|T union: *is_null, or -1 on a broken branch index. */
static int scan_opt(struct scan *s, avro_schema_t sc, bool *is_null)
{
    int b;
    if (codec_scan_branch(s, sc, &b) < 0)
        return -1;
    *is_null = avro_typeof(codec_skip_links(avro_schema_union_branch(sc, b))) == AVRO_NULL;
    return 0;
}

/* map<string>: the pairs as an arena array; *n pairs. */
static int scan_strmap(struct scan *s, struct kv **out, size_t *n)
{
    struct kv *kvs = NULL;
    size_t cap = 0;
    *n = 0;
    for (;;) {
        int64_t count;
        if (codec_scan_block_count(s, &count) < 0)
            return -1;
        if (count == 0)
            break;
        if (*n + (size_t)count > cap) {
            cap = *n + (size_t)count;
            struct kv *grown = arena_alloc(s->arena, cap * sizeof(*grown));
            if (*n)
                memcpy(grown, kvs, *n * sizeof(*grown));
            kvs = grown;
        }
        for (int64_t i = 0; i < count; i++) {
            struct kv *kv = &kvs[(*n)++];
            size_t len;
            if (codec_scan_string_bytes(s, "map key", true, &kv->key, &len) < 0)
                return -1;
            s->path[s->depth++] = "[]";
            int rc = codec_scan_string_bytes(s, "string", true, &kv->value, &len);
            s->depth--;
            if (rc < 0)
                return -1;
        }
    }
    *out = kvs;
    return 0;
}

/* array<string>: the items as an arena array; *n items. */
static int scan_strlist(struct scan *s, const char ***out, size_t *n)
{
    const char **v = NULL;
    size_t cap = 0;
    *n = 0;
    for (;;) {
        int64_t count;
        if (codec_scan_block_count(s, &count) < 0)
            return -1;
        if (count == 0)
            break;
        if (*n + (size_t)count > cap) {
            cap = *n + (size_t)count;
            const char **grown = arena_alloc(s->arena, cap * sizeof(*grown));
            if (*n)
                memcpy(grown, v, *n * sizeof(*grown));
            v = grown;
        }
        for (int64_t i = 0; i < count; i++) {
            size_t len;
            s->path[s->depth++] = "[]";
            int rc = codec_scan_string_bytes(s, "string", true, &v[(*n)++], &len);
            s->depth--;
            if (rc < 0)
                return -1;
        }
    }
    *out = v;
    return 0;
}

static int scan_field_into(struct scan *s, const struct direct_field *d,
                           struct event *ev)
{
    const struct record_field *f = d->spec;
    char *dst = (char *)ev + f->off;
    switch (f->type) {
    case FIELD_STR:
    case FIELD_OPT_STR: {
        bool is_null = false;
        const char *str = NULL;
        size_t n;
        if (f->type == FIELD_OPT_STR && scan_opt(s, d->sc, &is_null) < 0)
            return -1;
        if (!is_null && codec_scan_string_bytes(s, "string", true, &str, &n) < 0)
            return -1;
        memcpy(dst, &str, sizeof(str));
        return 0;
    }
    case FIELD_INT: {
        int32_t v;
        if (codec_scan_int(s, &v) < 0)
            return -1;
        memcpy(dst, &v, sizeof(v));
        return 0;
    }
    case FIELD_LONG: {
        int64_t v;
        if (codec_scan_long(s, &v) < 0)
            return -1;
        memcpy(dst, &v, sizeof(v));
        return 0;
    }
    case FIELD_BOOL: {
        bool v;
        if (codec_scan_bool(s, &v) < 0)
            return -1;
        memcpy(dst, &v, sizeof(v));
        return 0;
    }
    case FIELD_OPT_DOUBLE: {
        bool is_null;
        double v = 0;
        if (scan_opt(s, d->sc, &is_null) < 0 ||
            (!is_null && codec_scan_double(s, &v) < 0))
            return -1;
        bool has = !is_null;
        memcpy(dst, &v, sizeof(v));
        memcpy((char *)ev + f->aux, &has, sizeof(has));
        return 0;
    }
    case FIELD_ENUM: {
        int idx;
        int in = codec_scan_enum_index(s, d->sc, &idx);
        if (in <= 0)
            return in;
        int v = d->enum_val[idx];
        if (v == ENUM_UNHANDLED)
            codec_scan_fail(s, SCAN_FIELD, "symbol '%s' is not handled",
                            avro_schema_enum_get(d->sc, idx));
        memcpy(dst, &v, sizeof(v));
        return 0;
    }
    case FIELD_STRMAP: {
        struct kv *kvs;
        size_t n;
        if (scan_strmap(s, &kvs, &n) < 0)
            return -1;
        const struct kv *ckvs = kvs;
        memcpy(dst, &ckvs, sizeof(ckvs));
        memcpy((char *)ev + f->aux, &n, sizeof(n));
        return 0;
    }
    case FIELD_DOUBLE: {
        double v;
        if (codec_scan_double(s, &v) < 0)
            return -1;
        memcpy(dst, &v, sizeof(v));
        return 0;
    }
    case FIELD_OPT_LONG: {
        bool is_null;
        int64_t v = 0;
        if (scan_opt(s, d->sc, &is_null) < 0 ||
            (!is_null && codec_scan_long(s, &v) < 0))
            return -1;
        bool has = !is_null;
        memcpy(dst, &v, sizeof(v));
        memcpy((char *)ev + f->aux, &has, sizeof(has));
        return 0;
    }
    case FIELD_STRLIST: {
        const char **v;
        size_t n;
        if (scan_strlist(s, &v, &n) < 0)
            return -1;
        const char *const *cv = v;
        memcpy(dst, &cv, sizeof(cv));
        memcpy((char *)ev + f->aux, &n, sizeof(n));
        return 0;
    }
    }
    return SCAN_HARD_FAIL(s, "unsupported field kind");
}

/* Walks the whole datum into ev; on return the scan's flags tell what went
 * wrong. Fields struct event does not take are checked and skipped. */
static void scan_event(struct scan *s, const struct wschema *w,
                       struct event *ev)
{
    for (size_t i = 0; i < w->n_direct; i++) {
        const struct direct_field *d = &w->direct[i];
        s->path[s->depth++] = d->name;
        int rc = d->spec ? scan_field_into(s, d, ev) : codec_scan_value(s, d->sc, NULL);
        s->depth--;
        if (rc < 0)
            return;
    }
    if (s->p != s->end)
        codec_scan_fail(s, SCAN_HARD, "%zu trailing bytes after the datum",
                        codec_scan_left(s));
}

/* ------------------------------------------------------------------------
 * Decoding into struct event
 */

static int set_default(const struct record_field *f, const struct fdefault *d,
                       struct event *ev, struct codec_error *err)
{
    char *dst = (char *)ev + f->off;
    if (!d->present) { /* codec_open makes sure this cannot happen */
        codec_cerr(err, "invalid_field", "field '%s': no value and no default", f->name);
        return -1;
    }
    switch (f->type) {
    case FIELD_STR:
    case FIELD_OPT_STR:
        memcpy(dst, &d->s, sizeof(d->s));
        break;
    case FIELD_INT: {
        int32_t v = (int32_t)d->i;
        memcpy(dst, &v, sizeof(v));
        break;
    }
    case FIELD_LONG:
        memcpy(dst, &d->i, sizeof(d->i));
        break;
    case FIELD_BOOL:
        memcpy(dst, &d->b, sizeof(d->b));
        break;
    case FIELD_OPT_DOUBLE:
        memcpy(dst, &d->d, sizeof(d->d));
        memcpy((char *)ev + f->aux, &d->b, sizeof(d->b));
        break;
    case FIELD_ENUM: {
        int v = (int)d->i;
        memcpy(dst, &v, sizeof(v));
        break;
    }
    case FIELD_STRMAP: {
        const struct kv *none = NULL;
        size_t zero = 0;
        memcpy(dst, &none, sizeof(none));
        memcpy((char *)ev + f->aux, &zero, sizeof(zero));
        break;
    }
    case FIELD_DOUBLE:
        memcpy(dst, &d->d, sizeof(d->d));
        break;
    case FIELD_OPT_LONG:
        memcpy(dst, &d->i, sizeof(d->i));
        memcpy((char *)ev + f->aux, &d->b, sizeof(d->b));
        break;
    case FIELD_STRLIST: {
        const char *const *none = NULL;
        size_t zero = 0;
        memcpy(dst, &none, sizeof(none));
        memcpy((char *)ev + f->aux, &zero, sizeof(zero));
        break;
    }
    }
    return 0;
}

static int get_str(avro_value_t *v, const char **out)
{
    size_t size;
    if (avro_value_get_string(v, out, &size) != 0 || !*out)
        return -1;
    return 0;
}

/* For null|T unions: the T branch in *branch, or 1 when null. */
static int get_opt(avro_value_t *v, avro_value_t *branch)
{
    if (avro_value_get_current_branch(v, branch) != 0)
        return -1;
    return avro_value_get_type(branch) == AVRO_NULL ? 1 : 0;
}

static int extract_field(const struct record_field *f, avro_value_t *v,
                         struct arena *a, struct event *ev,
                         struct codec_error *err)
{
    char *dst = (char *)ev + f->off;
    avro_value_t b;
    int rc = 0;
    switch (f->type) {
    case FIELD_STR: {
        const char *s;
        rc = get_str(v, &s);
        if (rc == 0)
            memcpy(dst, &s, sizeof(s));
        break;
    }
    case FIELD_OPT_STR: {
        const char *s = NULL;
        rc = get_opt(v, &b);
        if (rc == 0)
            rc = get_str(&b, &s);
        if (rc >= 0) {
            memcpy(dst, &s, sizeof(s));
            rc = 0;
        }
        break;
    }
    case FIELD_INT: {
        int32_t i;
        rc = avro_value_get_int(v, &i);
        if (rc == 0)
            memcpy(dst, &i, sizeof(i));
        break;
    }
    case FIELD_LONG: {
        int64_t l;
        rc = avro_value_get_long(v, &l);
        if (rc == 0)
            memcpy(dst, &l, sizeof(l));
        break;
    }
    case FIELD_BOOL: {
        int i = 0;
        rc = avro_value_get_boolean(v, &i);
        bool bv = i != 0;
        if (rc == 0)
            memcpy(dst, &bv, sizeof(bv));
        break;
    }
    case FIELD_OPT_DOUBLE: {
        double d = 0;
        bool has = false;
        rc = get_opt(v, &b);
        if (rc == 0) {
            rc = avro_value_get_double(&b, &d);
            has = true;
        }
        if (rc >= 0) {
            memcpy(dst, &d, sizeof(d));
            memcpy((char *)ev + f->aux, &has, sizeof(has));
            rc = 0;
        }
        break;
    }
    case FIELD_ENUM: {
        int idx, cv;
        rc = avro_value_get_enum(v, &idx);
        if (rc != 0)
            break;
        const char *sym = avro_schema_enum_get(avro_value_get_schema(v), idx);
        if (!sym || f->parse(sym, &cv) != 0) {
            codec_cerr(err, "invalid_field", "field '%s': symbol '%s' is not handled",
                       f->name, sym ? sym : "?");
            return -1;
        }
        memcpy(dst, &cv, sizeof(cv));
        break;
    }
    case FIELD_STRMAP: {
        size_t n;
        rc = avro_value_get_size(v, &n);
        if (rc != 0)
            break;
        struct kv *kvs = n ? arena_alloc(a, n * sizeof(*kvs)) : NULL;
        for (size_t i = 0; i < n && rc == 0; i++) {
            avro_value_t item;
            const char *key;
            rc = avro_value_get_by_index(v, i, &item, &key);
            if (rc == 0) {
                /* The map owns its keys until the next reset: copy. */
                kvs[i].key = arena_strndup(a, key, strlen(key));
                rc = get_str(&item, &kvs[i].value);
            }
        }
        const struct kv *ckvs = kvs;
        memcpy(dst, &ckvs, sizeof(ckvs));
        memcpy((char *)ev + f->aux, &n, sizeof(n));
        break;
    }
    case FIELD_DOUBLE: {
        double dv;
        rc = avro_value_get_double(v, &dv);
        if (rc == 0)
            memcpy(dst, &dv, sizeof(dv));
        break;
    }
    case FIELD_OPT_LONG: {
        int64_t l = 0;
        bool has = false;
        rc = get_opt(v, &b);
        if (rc == 0) {
            rc = avro_value_get_long(&b, &l);
            has = true;
        }
        if (rc >= 0) {
            memcpy(dst, &l, sizeof(l));
            memcpy((char *)ev + f->aux, &has, sizeof(has));
            rc = 0;
        }
        break;
    }
    case FIELD_STRLIST: {
        size_t n;
        rc = avro_value_get_size(v, &n);
        if (rc != 0)
            break;
        const char **items = n ? arena_alloc(a, n * sizeof(*items)) : NULL;
        for (size_t i = 0; i < n && rc == 0; i++) {
            avro_value_t item;
            rc = avro_value_get_by_index(v, i, &item, NULL);
            if (rc == 0)
                rc = get_str(&item, &items[i]);
        }
        const char *const *citems = items;
        memcpy(dst, &citems, sizeof(citems));
        memcpy((char *)ev + f->aux, &n, sizeof(n));
        break;
    }
    }
    if (rc != 0) {
        codec_cerr(err, "invalid_field", "field '%s': unexpected value in the reader record",
                   f->name);
        return -1;
    }
    return 0;
}

/*
 * Avro C 1.11's resolved map and array writers never drop the child
 * wrappers they cache on reset: the cache grows with every map entry ever
 * decoded (RegistryChange.attributes) and each reset walks all of it, so
 * decoding slowed quadratically and leaked (35% of a 1M-event profile).
 * A fresh resolved value every 256 decodes bounds both at a negligible
 * amortised cost.
 */
static int fresh_resolved(struct wschema *w)
{
    if (++w->decodes < 256)
        return 0;
    avro_value_t v;
    if (avro_resolved_writer_new_value(w->resolver, &v) != 0)
        return -1;
    avro_value_decref(&w->resolved);
    w->resolved = v;
    avro_resolved_writer_set_dest(&w->resolved, &w->reader_value);
    w->decodes = 0;
    return 0;
}

int codec_decode_event(struct codec *c, enum event_kind kind, const void *key,
                       size_t klen, const void *val, size_t vlen,
                       struct arena *a, struct event *ev,
                       struct codec_error *err)
{
    struct wschema *w;
    size_t bad;
    if ((unsigned)kind >= EVENT_KIND_COUNT) {
        codec_cerr(err, "wrong_record_type", "no such event kind %d", (int)kind);
        return -1;
    }
    const struct record_field *kf = &records_table[kind].fields[c->rec[kind].key_field];
    if (!key || klen == 0) {
        codec_cerr(err, "missing_key", "message has no key (the %s)", kf->name);
        return -1;
    }
    if (!codec_utf8_valid(key, klen, &bad)) {
        codec_cerr(err, "invalid_utf8", "key: invalid UTF-8 at byte %zu", bad);
        return -1;
    }
    if (codec_frame_parse(c, val, vlen, &w, err) < 0)
        return -1;
    if (w->rec != (int)kind) {
        codec_cerr(err, "wrong_record_type", "schema id %" PRId32 " is %s, topic carries %s",
                   w->id, w->fullname, c->rec[kind].fullname);
        return -1;
    }

    struct scan s = {.p = (const uint8_t *)val + 5,
                     .end = (const uint8_t *)val + vlen,
                     .arena = a,
                     .w = w};
    memset(&ev->u, 0, sizeof(ev->u));
    ev->kind = kind;
    ev->key = ev->event_id = ev->customer_id = NULL; /* not every record has them */
    if (w->direct && !c->generic) {
        scan_event(&s, w, ev);
    } else {
        /* Into the reader's value (through the resolver when the schemas
         * differ), read back below. */
        avro_value_t *dest = w->resolver ? &w->resolved : &w->reader_value;
        if ((w->resolver && fresh_resolved(w) != 0) ||
            avro_value_reset(dest) != 0) {
            codec_cerr(err, "decode_failed", "cannot reset the reader value: %s",
                       avro_strerror());
            return -1;
        }
        codec_scan_datum(&s, w->schema, dest);
    }
    if (s.hard) {
        codec_cerr(err, "decode_failed", "%s", s.hard_msg);
        return -1;
    }
    if (s.bad_utf8) {
        codec_cerr(err, "invalid_utf8", "%s", s.utf8_msg);
        return -1;
    }
    if (s.bad_field) {
        codec_cerr(err, "invalid_field", "%s", s.field_msg);
        return -1;
    }

    const struct record_field *specs = records_table[kind].fields;
    for (size_t i = 0; i < records_table[kind].n_fields; i++) {
        int idx = w->field_idx[i];
        int rc;
        if (w->direct && !c->generic && idx >= 0)
            continue; /* the walk stored it */
        if (idx < 0) {
            rc = set_default(&specs[i], &c->rec[kind].defaults[i], ev, err);
        } else {
            avro_value_t f;
            if (avro_value_get_by_index(&w->reader_value, (size_t)idx, &f, NULL) != 0) {
                codec_cerr(err, "decode_failed", "field '%s': %s", specs[i].name,
                           avro_strerror());
                return -1;
            }
            rc = extract_field(&specs[i], &f, a, ev, err);
        }
        if (rc < 0)
            return -1;
    }

    const char *kv;
    memcpy(&kv, (const char *)ev + kf->off, sizeof(kv));
    if (strlen(kv) != klen || memcmp(kv, key, klen) != 0) {
        codec_cerr(err, "key_mismatch", "key '%.*s' differs from %s '%s'",
                   (int)(klen > 64 ? 64 : klen), (const char *)key, kf->name, kv);
        return -1;
    }
    ev->key = kv;
    return 0;
}
