/*
 * codec_datum.c - one walk over an Avro binary datum, checked against its
 * writer schema, and the Confluent framing.
 *
 * The datum is not handed to avro_value_read(): that allocates the declared
 * length of every string before checking the bytes exist. The walk checks
 * every length against the bytes left, every string for UTF-8, every enum
 * and union index and the exact end of the datum, then feeds a value (the
 * decoder's) and/or a JSON sink (the consume tool's). String contents are
 * copied once, into the caller's arena, and lent to the value.
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
 * JSON output (codec_avro_to_json)
 */

static void jbuf_raw(struct buf *b, const char *s) { buf_append(b, s, strlen(s)); }

static void jbuf_string(struct buf *b, const uint8_t *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    buf_put_u8(b, '"');
    size_t run = 0;
    for (size_t i = 0; i < n; i++) {
        uint8_t ch = s[i];
        if (ch >= 0x20 && ch != '"' && ch != '\\')
            continue;
        buf_append(b, s + run, i - run);
        run = i + 1;
        char esc[7] = {'\\', 0};
        switch (ch) {
        case '"': esc[1] = '"'; break;
        case '\\': esc[1] = '\\'; break;
        case '\n': esc[1] = 'n'; break;
        case '\r': esc[1] = 'r'; break;
        case '\t': esc[1] = 't'; break;
        case '\b': esc[1] = 'b'; break;
        case '\f': esc[1] = 'f'; break;
        default:
            esc[1] = 'u';
            esc[2] = '0';
            esc[3] = '0';
            esc[4] = hex[ch >> 4];
            esc[5] = hex[ch & 15];
        }
        jbuf_raw(b, esc);
    }
    buf_append(b, s + run, n - run);
    buf_put_u8(b, '"');
}

/* Avro's JSON form of bytes/fixed: one code point per byte. */
static void jbuf_bytes(struct buf *b, const uint8_t *s, size_t n)
{
    buf_put_u8(b, '"');
    for (size_t i = 0; i < n; i++) {
        char tmp[8];
        if (s[i] >= 0x20 && s[i] < 0x7f && s[i] != '"' && s[i] != '\\')
            snprintf(tmp, sizeof(tmp), "%c", s[i]);
        else
            snprintf(tmp, sizeof(tmp), "\\u%04x", s[i]);
        jbuf_raw(b, tmp);
    }
    buf_put_u8(b, '"');
}

/* Shortest representation that reads back to the same double. */
static void jbuf_double(struct buf *b, double d)
{
    if (!isfinite(d)) {
        jbuf_raw(b, "null"); /* JSON has no NaN or infinity */
        return;
    }
    char tmp[40];
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(tmp, sizeof(tmp), "%.*g", prec, d);
        if (strtod(tmp, NULL) == d)
            break;
    }
    jbuf_raw(b, tmp);
}

static void jbuf_fmt(struct buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void jbuf_fmt(struct buf *b, const char *fmt, ...)
{
    char tmp[64];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(tmp, sizeof(tmp), fmt, ap);
    va_end(ap);
    jbuf_raw(b, tmp);
}

/* ------------------------------------------------------------------------
 * The datum walk: validate the binary against the writer schema and feed a
 * value (dest) and/or a JSON sink.
 */

static void scan_path(const struct scan *s, char *out, size_t n)
{
    size_t len = 0;
    out[0] = '\0';
    for (int i = 0; i < s->depth && len < n; i++) {
        const char *el = s->path[i];
        int w = snprintf(out + len, n - len, "%s%s",
                         (i > 0 && el[0] != '[') ? "." : "", el);
        if (w < 0)
            break;
        len += (size_t)w;
    }
}

/* Records the first error of each kind. Structural errors end the walk: the
 * callers return SCAN_HARD_FAIL(); content errors let it go on, so that a
 * later structural error still wins (decode_failed before invalid_utf8). */
void codec_scan_fail(struct scan *s, enum scan_err kind, const char *fmt, ...)
{
    char *dst;
    bool *flag;
    switch (kind) {
    case SCAN_HARD: dst = s->hard_msg; flag = &s->hard; break;
    case SCAN_UTF8: dst = s->utf8_msg; flag = &s->bad_utf8; break;
    default: dst = s->field_msg; flag = &s->bad_field; break;
    }
    if (*flag)
        return; /* keep the first one */
    *flag = true;
    char path[80], what[160];
    scan_path(s, path, sizeof(path));
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof(what), fmt, ap);
    va_end(ap);
    if (path[0])
        snprintf(dst, sizeof(s->hard_msg), "field '%s': %s", path, what);
    else
        snprintf(dst, sizeof(s->hard_msg), "%s", what);
}

static int scan_varint(struct scan *s, uint64_t *out, int maxbytes)
{
    uint64_t v = 0;
    for (int i = 0; i < maxbytes; i++) {
        if (s->p >= s->end)
            return SCAN_HARD_FAIL(s, "datum truncated inside a number");
        uint8_t byte = *s->p++;
        v |= (uint64_t)(byte & 0x7f) << (7 * i);
        if (!(byte & 0x80)) {
            *out = v;
            return 0;
        }
    }
    return SCAN_HARD_FAIL(s, "variable-length number longer than %d bytes",
                     maxbytes);
}

int codec_scan_long(struct scan *s, int64_t *out)
{
    uint64_t u;
    if (scan_varint(s, &u, 10) < 0)
        return -1;
    *out = (int64_t)(u >> 1) ^ -(int64_t)(u & 1);
    return 0;
}

int codec_scan_int(struct scan *s, int32_t *out)
{
    uint64_t u;
    if (scan_varint(s, &u, 5) < 0)
        return -1;
    if (u > UINT32_MAX)
        return SCAN_HARD_FAIL(s, "int out of range");
    uint32_t z = (uint32_t)u;
    *out = (int32_t)((z >> 1) ^ (~(z & 1) + 1));
    return 0;
}

/* Reads a length prefix and checks that many bytes are there. */
static int scan_len(struct scan *s, const char *what, size_t *out)
{
    int64_t len;
    if (codec_scan_long(s, &len) < 0)
        return -1;
    if (len < 0)
        return SCAN_HARD_FAIL(s, "negative %s length %" PRId64, what, len);
    if ((uint64_t)len > codec_scan_left(s))
        return SCAN_HARD_FAIL(s,
                         "%s length %" PRId64 " exceeds the %zu bytes left",
                         what, len, codec_scan_left(s));
    *out = (size_t)len;
    return 0;
}

/* A string: checked, then copied into the arena when feeding a value. On
 * return *str is the arena copy (feeding) or the raw bytes. */
int codec_scan_string_bytes(struct scan *s, const char *what, bool want_copy,
                            const char **str, size_t *n)
{
    size_t len;
    if (scan_len(s, what, &len) < 0)
        return -1;
    const uint8_t *raw = s->p;
    s->p += len;
    size_t bad;
    if (!codec_utf8_valid(raw, len, &bad))
        codec_scan_fail(s, SCAN_UTF8, "%sinvalid UTF-8 at byte %zu",
                        strcmp(what, "string") ? "map key: " : "", bad);
    else if (len && memchr(raw, 0, len))
        codec_scan_fail(s, SCAN_FIELD, "%sNUL byte at byte %zu",
                        strcmp(what, "string") ? "map key: " : "",
                        (size_t)((const uint8_t *)memchr(raw, 0, len) - raw));
    *n = len;
    *str = want_copy ? arena_strndup(s->arena, (const char *)raw, len)
                     : (const char *)raw;
    return 0;
}

static int scan_fixed_bytes(struct scan *s, size_t n, const uint8_t **out)
{
    if (n > codec_scan_left(s))
        return SCAN_HARD_FAIL(s, "datum truncated: %zu bytes needed, %zu left",
                         n, codec_scan_left(s));
    *out = s->p;
    s->p += n;
    return 0;
}

/* The scalars codec_scan_value() and the direct walk read alike. */

int codec_scan_double(struct scan *s, double *out)
{
    const uint8_t *raw;
    if (scan_fixed_bytes(s, 8, &raw) < 0)
        return -1;
    uint64_t u = 0;
    for (int i = 7; i >= 0; i--)
        u = u << 8 | raw[i];
    memcpy(out, &u, sizeof(*out));
    return 0;
}

/* A byte other than 0 or 1 is a field error (the walk goes on). */
int codec_scan_bool(struct scan *s, bool *out)
{
    const uint8_t *raw;
    if (scan_fixed_bytes(s, 1, &raw) < 0)
        return -1;
    if (*raw > 1)
        codec_scan_fail(s, SCAN_FIELD, "boolean byte %u is neither 0 nor 1", *raw);
    *out = *raw != 0;
    return 0;
}

/* A union's branch index; out of range, the datum is broken. */
int codec_scan_branch(struct scan *s, avro_schema_t sc, int *out)
{
    int64_t disc;
    if (codec_scan_long(s, &disc) < 0)
        return -1;
    size_t n = avro_schema_union_size(sc);
    if (disc < 0 || (uint64_t)disc >= n)
        return SCAN_HARD_FAIL(s, "union branch %" PRId64 " out of range 0..%zu",
                              disc, n - 1);
    *out = (int)disc;
    return 0;
}

/* An enum's symbol index: 1 and *out, or 0 when out of range (a field
 * error: the walk goes on), or -1 on a broken datum. */
int codec_scan_enum_index(struct scan *s, avro_schema_t sc, int *out)
{
    int64_t idx;
    if (codec_scan_long(s, &idx) < 0)
        return -1;
    int n = avro_schema_enum_number_of_symbols(sc);
    if (idx < 0 || idx >= n) {
        codec_scan_fail(s, SCAN_FIELD, "enum index %" PRId64 " out of range 0..%d", idx,
                        n - 1);
        return 0;
    }
    *out = (int)idx;
    return 1;
}

static int scan_avro_fail(struct scan *s, const char *what)
{
    return SCAN_HARD_FAIL(s, "%s: %s", what, avro_strerror());
}

static const struct enum_map *find_enum_map(const struct wschema *w,
                                            avro_schema_t wenum)
{
    for (size_t i = 0; w && i < w->n_enums; i++)
        if (w->enums[i].wenum == wenum)
            return &w->enums[i];
    return NULL;
}


/* The item count of the next block of an array or map (0: the end), its
 * byte size skipped when the writer gave one (a negative count). */
int codec_scan_block_count(struct scan *s, int64_t *out)
{
    int64_t count;
    if (codec_scan_long(s, &count) < 0)
        return -1;
    if (count < 0) {
        int64_t bytes;
        if (count == INT64_MIN)
            return SCAN_HARD_FAIL(s, "bad block count");
        count = -count;
        if (codec_scan_long(s, &bytes) < 0)
            return -1;
        if (bytes < 0)
            return SCAN_HARD_FAIL(s, "negative block size");
    }
    /* Every item takes at least one byte in our schemas (map keys always
     * do), so a count beyond the bytes left is corrupt: checking it here
     * bounds the loop and the value's growth. */
    if ((uint64_t)count > codec_scan_left(s))
        return SCAN_HARD_FAIL(s,
                              "block of %" PRId64 " items exceeds the %zu bytes left",
                              count, codec_scan_left(s));
    *out = count;
    return 0;
}

static int scan_blocks(struct scan *s, avro_schema_t sc, avro_value_t *dest,
                       bool is_map)
{
    avro_schema_t item =
        is_map ? avro_schema_map_values(sc) : avro_schema_array_items(sc);
    bool first = true;
    if (s->json)
        buf_put_u8(s->json, is_map ? '{' : '[');
    for (;;) {
        int64_t count;
        if (codec_scan_block_count(s, &count) < 0)
            return -1;
        if (count == 0)
            break;
        for (int64_t i = 0; i < count; i++) {
            avro_value_t child, *cp = NULL;
            if (s->json && !first)
                buf_put_u8(s->json, ',');
            first = false;
            if (is_map) {
                const char *key;
                size_t klen;
                if (codec_scan_string_bytes(s, "map key", dest != NULL, &key, &klen) < 0)
                    return -1;
                if (s->json) {
                    jbuf_string(s->json, (const uint8_t *)key, klen);
                    buf_put_u8(s->json, ':');
                }
                if (dest) {
                    if (avro_value_add(dest, key, &child, NULL, NULL) != 0)
                        return scan_avro_fail(s, "cannot add map entry");
                    cp = &child;
                }
            } else if (dest) {
                if (avro_value_append(dest, &child, NULL) != 0)
                    return scan_avro_fail(s, "cannot append array item");
                cp = &child;
            }
            s->path[s->depth++] = "[]";
            int rc = codec_scan_value(s, item, cp);
            s->depth--;
            if (rc < 0)
                return -1;
        }
    }
    if (s->json)
        buf_put_u8(s->json, is_map ? '}' : ']');
    return 0;
}

int codec_scan_value(struct scan *s, avro_schema_t sc, avro_value_t *dest)
{
    sc = codec_skip_links(sc);
    if (s->depth >= CODEC_MAX_DEPTH)
        return SCAN_HARD_FAIL(s, "nested deeper than %d", CODEC_MAX_DEPTH);
    switch (avro_typeof(sc)) {
    case AVRO_STRING: {
        const char *str;
        size_t n;
        if (codec_scan_string_bytes(s, "string", dest != NULL, &str, &n) < 0)
            return -1;
        if (s->json)
            jbuf_string(s->json, (const uint8_t *)str, n);
        if (dest) {
            /* Lend the arena copy to the value: no malloc, no second copy. */
            avro_wrapped_buffer_t wb;
            if (avro_wrapped_buffer_new(&wb, str, n + 1) != 0 ||
                avro_value_give_string_len(dest, &wb) != 0)
                return scan_avro_fail(s, "cannot store string");
        }
        return 0;
    }
    case AVRO_BYTES: {
        size_t n;
        const uint8_t *raw;
        if (scan_len(s, "bytes", &n) < 0 || scan_fixed_bytes(s, n, &raw) < 0)
            return -1;
        if (s->json)
            jbuf_bytes(s->json, raw, n);
        if (dest && avro_value_set_bytes(dest, (void *)raw, n) != 0)
            return scan_avro_fail(s, "cannot store bytes");
        return 0;
    }
    case AVRO_FIXED: {
        size_t n = (size_t)avro_schema_fixed_size(sc);
        const uint8_t *raw;
        if (scan_fixed_bytes(s, n, &raw) < 0)
            return -1;
        if (s->json)
            jbuf_bytes(s->json, raw, n);
        if (dest && avro_value_set_fixed(dest, (void *)raw, n) != 0)
            return scan_avro_fail(s, "cannot store fixed");
        return 0;
    }
    case AVRO_INT32: {
        int32_t v;
        if (codec_scan_int(s, &v) < 0)
            return -1;
        if (s->json)
            jbuf_fmt(s->json, "%" PRId32, v);
        if (dest && avro_value_set_int(dest, v) != 0)
            return scan_avro_fail(s, "cannot store int");
        return 0;
    }
    case AVRO_INT64: {
        int64_t v;
        if (codec_scan_long(s, &v) < 0)
            return -1;
        if (s->json)
            jbuf_fmt(s->json, "%" PRId64, v);
        if (dest && avro_value_set_long(dest, v) != 0)
            return scan_avro_fail(s, "cannot store long");
        return 0;
    }
    case AVRO_FLOAT: {
        const uint8_t *raw;
        if (scan_fixed_bytes(s, 4, &raw) < 0)
            return -1;
        uint32_t u = (uint32_t)raw[0] | (uint32_t)raw[1] << 8 |
                     (uint32_t)raw[2] << 16 | (uint32_t)raw[3] << 24;
        float f;
        memcpy(&f, &u, sizeof(f));
        if (s->json)
            jbuf_double(s->json, f);
        if (dest && avro_value_set_float(dest, f) != 0)
            return scan_avro_fail(s, "cannot store float");
        return 0;
    }
    case AVRO_DOUBLE: {
        double d;
        if (codec_scan_double(s, &d) < 0)
            return -1;
        if (s->json)
            jbuf_double(s->json, d);
        if (dest && avro_value_set_double(dest, d) != 0)
            return scan_avro_fail(s, "cannot store double");
        return 0;
    }
    case AVRO_BOOLEAN: {
        bool b;
        if (codec_scan_bool(s, &b) < 0)
            return -1;
        if (s->json)
            jbuf_raw(s->json, b ? "true" : "false");
        if (dest && avro_value_set_boolean(dest, b) != 0)
            return scan_avro_fail(s, "cannot store boolean");
        return 0;
    }
    case AVRO_NULL:
        if (s->json)
            jbuf_raw(s->json, "null");
        if (dest && avro_value_set_null(dest) != 0)
            return scan_avro_fail(s, "cannot store null");
        return 0;
    case AVRO_ENUM: {
        int idx;
        int in = codec_scan_enum_index(s, sc, &idx);
        if (in <= 0) {
            if (in == 0 && s->json)
                jbuf_raw(s->json, "null");
            return in;
        }
        const char *sym = avro_schema_enum_get(sc, idx);
        if (s->json)
            jbuf_string(s->json, (const uint8_t *)sym, strlen(sym));
        if (dest) {
            int ridx = idx;
            const struct enum_map *m = find_enum_map(s->w, sc);
            if (m)
                ridx = m->to_reader[idx];
            if (ridx < 0) {
                codec_scan_fail(s, SCAN_FIELD, "symbol '%s' unknown to the reader", sym);
                return 0;
            }
            if (avro_value_set_enum(dest, ridx) != 0)
                return scan_avro_fail(s, "cannot store enum");
        }
        return 0;
    }
    case AVRO_UNION: {
        int disc;
        if (codec_scan_branch(s, sc, &disc) < 0)
            return -1;
        avro_value_t branch, *bp = NULL;
        if (dest) {
            if (avro_value_set_branch(dest, disc, &branch) != 0)
                return scan_avro_fail(s, "union branch not readable");
            bp = &branch;
        }
        return codec_scan_value(s, avro_schema_union_branch(sc, disc), bp);
    }
    case AVRO_RECORD: {
        size_t n = avro_schema_record_size(sc);
        if (s->json)
            buf_put_u8(s->json, '{');
        for (size_t i = 0; i < n; i++) {
            const char *name = avro_schema_record_field_name(sc, (int)i);
            avro_value_t child, *cp = NULL;
            if (dest) {
                if (avro_value_get_by_index(dest, i, &child, NULL) != 0)
                    return scan_avro_fail(s, "cannot get field");
                if (child.iface) /* NULL: a writer field the reader skips */
                    cp = &child;
            }
            if (s->json) {
                if (i)
                    buf_put_u8(s->json, ',');
                jbuf_string(s->json, (const uint8_t *)name, strlen(name));
                buf_put_u8(s->json, ':');
            }
            s->path[s->depth++] = name;
            int rc = codec_scan_value(s, avro_schema_record_field_get_by_index(sc, (int)i),
                                      cp);
            s->depth--;
            if (rc < 0)
                return -1;
        }
        if (s->json)
            buf_put_u8(s->json, '}');
        return 0;
    }
    case AVRO_ARRAY:
        return scan_blocks(s, sc, dest, false);
    case AVRO_MAP:
        return scan_blocks(s, sc, dest, true);
    default:
        return SCAN_HARD_FAIL(s, "unsupported schema type");
    }
}

/* Walks the whole datum; on return the scan's flags tell what went wrong. */
void codec_scan_datum(struct scan *s, avro_schema_t sc, avro_value_t *dest)
{
    if (codec_scan_value(s, sc, dest) == 0 && s->p != s->end)
        codec_scan_fail(s, SCAN_HARD, "%zu trailing bytes after the datum",
                        codec_scan_left(s));
}

/* ------------------------------------------------------------------------
 * Framing
 */

int codec_frame_parse(const struct codec *c, const uint8_t *v, size_t vlen,
                      struct wschema **w, struct codec_error *err)
{
    if (!v || vlen == 0) {
        codec_cerr(err, "empty_value", "empty value");
        return -1;
    }
    if (v[0] != 0) {
        codec_cerr(err, "bad_magic", "first byte is 0x%02x, expected 0x00 (Confluent framing)",
                   v[0]);
        return -1;
    }
    if (vlen < 5) {
        codec_cerr(err, "truncated_header", "value of %zu bytes is shorter than the 5-byte header",
                   vlen);
        return -1;
    }
    int32_t id = (int32_t)((uint32_t)v[1] << 24 | (uint32_t)v[2] << 16 |
                           (uint32_t)v[3] << 8 | (uint32_t)v[4]);
    *w = codec_find_ws(c, id);
    if (!*w) {
        codec_cerr(err, "unknown_schema_id", "unknown schema id %" PRId32, id);
        return -1;
    }
    return 0;
}

void codec_frame_header(struct buf *out, int32_t id)
{
    uint8_t h[5] = {0, (uint8_t)((uint32_t)id >> 24), (uint8_t)((uint32_t)id >> 16),
                    (uint8_t)((uint32_t)id >> 8), (uint8_t)id};
    buf_append(out, h, sizeof(h));
}

/* Writes header + datum of v into out (reset first). */
int codec_frame_value(struct codec *c, int32_t id, avro_value_t *v,
                      struct buf *out, char *msg, size_t msglen)
{
    size_t size;
    if (avro_value_sizeof(v, &size) != 0) {
        codec_errf(msg, msglen, "cannot size the datum: %s", avro_strerror());
        return -1;
    }
    buf_reset(out);
    buf_reserve(out, 5 + size + 1);
    codec_frame_header(out, id);
    avro_writer_memory_set_dest(c->writer, (const char *)out->data + 5,
                                (int64_t)size);
    if (avro_value_write(c->writer, v) != 0) {
        codec_errf(msg, msglen, "cannot write the datum: %s", avro_strerror());
        return -1;
    }
    out->len = 5 + size;
    return 0;
}
