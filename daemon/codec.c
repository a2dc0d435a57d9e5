/*
 * codec.c - the Avro C adapter (see codec.h for the contract).
 *
 * Why it is built the way it is:
 *
 * - Everything derived from a schema is made once in codec_open(): per writer
 *   id the writer's generic value class and one reusable value, and for the
 *   input records one reusable value of the reader schema, written through a
 *   resolved writer (avro_resolved_writer_new) when the writer's schema is
 *   not the reader's. When it is (the usual case) the walk below stores the
 *   fields struct event takes straight into it (scan_event): going through
 *   the generic value and reading it back was ~2/3 of decoding, ~9 % of the
 *   processing thread. Alerts likewise: a writer schema laid out as the
 *   shipped one is encoded straight into bytes (alert_write), others
 *   through the generic value. Nothing is parsed or built per message.
 *
 * - Avro C's resolver cannot use reader defaults (it rejects a reader field
 *   the writer lacks), so for each writer we resolve against an "effective"
 *   reader: the reader schema minus the fields that writer lacks, each of
 *   which must have a default in the reader .avsc. Those defaults are taken
 *   from the .avsc JSON (Avro C does not keep them) when the event is filled.
 *   Avro C's resolver also passes enum indexes through unchanged, so the
 *   writer index is mapped to the reader index by symbol name here.
 *
 * - The binary datum is not handed to avro_value_read(): that allocates the
 *   declared length of every string before checking that the bytes exist, and
 *   mallocs twice per string. Instead one walk over the writer schema checks
 *   every length against the bytes left, every string for UTF-8, every enum
 *   and union index, and the exact end of the datum, and feeds the resolved
 *   value through the Avro value API. String contents are copied once, into
 *   the caller's arena, and lent to the reader value (a non-owning wrapped
 *   buffer), so the processors get them without a second copy and the hot
 *   path does not malloc. The same walk, with a JSON sink instead of a value,
 *   implements codec_avro_to_json().
 */
#include "codec.h"

#include <avro.h>
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CODEC_MAX_DEPTH 32
#define CODEC_MAX_SCHEMA_BYTES (1 << 20)

/* ------------------------------------------------------------------------
 * The records: the rows of records.h that carry Avro, inputs in enum
 * event_kind order, then outputs in enum alert_kind order.
 */

enum {
    REC_INPUTS = EVENT_KIND_COUNT,
    REC_COUNT = EVENT_KIND_COUNT + ALERT_KIND_COUNT
};

#define CODEC_NAMESPACE "dealstream"

/* A reader default, converted once for the field's kind. */
struct fdefault {
    bool present;
    const char *s; /* FIELD_STR / FIELD_OPT_STR (NULL: null); owned by the json */
    int64_t i;     /* FIELD_INT / FIELD_LONG / FIELD_ENUM */
    double d;      /* FIELD_OPT_DOUBLE */
    bool b;        /* FIELD_BOOL; FIELD_OPT_DOUBLE: has a value */
};

struct record {
    char fullname[64]; /* dealstream.TranscriptSegment */
    char *path;        /* realpath of the reader .avsc */
    json_t *json;      /* the reader schema as JSON: defaults */
    avro_schema_t schema;
    struct fdefault *defaults; /* inputs: one per records_table field */
    int key_field;             /* inputs: the field the message key equals */
    int current;               /* index into codec.ws, -1 before resolved */
};

/* Writer enum index -> reader enum index, by symbol name. */
struct enum_map {
    avro_schema_t wenum;
    int *to_reader; /* -1: symbol unknown to the reader */
    int n;
};

/* One top-level field of a writer schema that equals its reader's. */
struct direct_field {
    const char *name;         /* the schema's; for error paths */
    avro_schema_t sc;         /* links skipped */
    const struct record_field *spec; /* what struct event takes from it; NULL: none */
    int *enum_val;            /* FIELD_ENUM: the C value per symbol index,
                               * ENUM_UNHANDLED when the parser lacks it */
};

#define ENUM_UNHANDLED INT_MIN

/* A field of an alert schema that no alert fills. */
struct other_field {
    int index;
    const json_t *def; /* its default, in the schema's JSON */
};

struct wschema {
    int32_t id;
    char *path;
    json_t *json;
    avro_schema_t schema;
    char fullname[128];
    int rec; /* index into codec.rec, -1: none of ours */
    avro_value_iface_t *iface;
    avro_value_t value; /* reused by encode and json_to_avro */
    /* Input records only: reading into the reader schema. */
    avro_schema_t eff; /* the reader minus the fields this writer lacks */
    avro_value_iface_t *reader_iface;
    avro_value_t reader_value;
    avro_value_iface_t *resolver;
    avro_value_t resolved; /* a writer-shaped view writing into reader_value */
    unsigned decodes;      /* since `resolved` was made; see fresh_resolved() */
    int *field_idx;        /* per records_table field: index in eff, -1: default */
    struct enum_map *enums;
    size_t n_enums;
    /* Writer = reader (no resolver): per writer field, how the walk stores
     * it in struct event itself. NULL with a resolver. */
    struct direct_field *direct;
    size_t n_direct;
    /* The current writer of an alert record: laid out as alert_layouts[]
     * says, encoded straight into bytes (alert_write); NULL: through the
     * generic value, where `others`, the fields no alert fills, take the
     * defaults the schema gives them. */
    struct alert_plan *plan;
    struct other_field *others;
    size_t n_others;
};

struct codec {
    bool generic; /* codec_set_generic(): no direct walks */
    struct record rec[REC_COUNT];
    struct wschema *ws; /* sorted by id */
    size_t n_ws;
    avro_writer_t writer; /* reused by every encode */
};

/* ------------------------------------------------------------------------
 * Small helpers
 */

static void errf(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void errf(char *err, size_t errlen, const char *fmt, ...)
{
    if (!err || !errlen)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

static void cerr(struct codec_error *e, const char *reason, const char *fmt,
                 ...) __attribute__((format(printf, 3, 4)));
static void cerr(struct codec_error *e, const char *reason, const char *fmt,
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
static bool utf8_valid(const uint8_t *s, size_t n, size_t *bad)
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

static avro_schema_t skip_links(avro_schema_t s)
{
    while (s && avro_typeof(s) == AVRO_LINK)
        s = avro_schema_link_target(s);
    return s;
}

static bool is_opt_of(avro_schema_t s, avro_type_t t)
{
    if (avro_typeof(s) != AVRO_UNION || avro_schema_union_size(s) != 2)
        return false;
    avro_type_t a = avro_typeof(skip_links(avro_schema_union_branch(s, 0)));
    avro_type_t b = avro_typeof(skip_links(avro_schema_union_branch(s, 1)));
    return (a == AVRO_NULL && b == t) || (a == t && b == AVRO_NULL);
}

static void schema_fullname(avro_schema_t s, char *out, size_t n)
{
    const char *ns = avro_schema_namespace(s);
    const char *name = avro_schema_name(s);
    if (ns && *ns)
        snprintf(out, n, "%s.%s", ns, name ? name : "");
    else
        snprintf(out, n, "%s", name ? name : "");
}

/* Index of a record name (short or with the namespace) among ours, or -1. */
static int find_record(const char *name)
{
    const struct record_def *r = records_find(name);
    if (!r || r->dir == RECORD_PLAIN)
        return -1;
    return (int)r->id;
}

static struct wschema *find_ws(const struct codec *c, int32_t id)
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
    return NULL;
}

/* ------------------------------------------------------------------------
 * JSON output (codec_avro_to_json)
 */

static void jw_raw(struct buf *b, const char *s) { buf_append(b, s, strlen(s)); }

static void jw_string(struct buf *b, const uint8_t *s, size_t n)
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
        jw_raw(b, esc);
    }
    buf_append(b, s + run, n - run);
    buf_put_u8(b, '"');
}

/* Avro's JSON form of bytes/fixed: one code point per byte. */
static void jw_bytes(struct buf *b, const uint8_t *s, size_t n)
{
    buf_put_u8(b, '"');
    for (size_t i = 0; i < n; i++) {
        char tmp[8];
        if (s[i] >= 0x20 && s[i] < 0x7f && s[i] != '"' && s[i] != '\\')
            snprintf(tmp, sizeof(tmp), "%c", s[i]);
        else
            snprintf(tmp, sizeof(tmp), "\\u%04x", s[i]);
        jw_raw(b, tmp);
    }
    buf_put_u8(b, '"');
}

/* Shortest representation that reads back to the same double. */
static void jw_double(struct buf *b, double d)
{
    if (!isfinite(d)) {
        jw_raw(b, "null"); /* JSON has no NaN or infinity */
        return;
    }
    char tmp[40];
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(tmp, sizeof(tmp), "%.*g", prec, d);
        if (strtod(tmp, NULL) == d)
            break;
    }
    jw_raw(b, tmp);
}

static void jw_fmt(struct buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void jw_fmt(struct buf *b, const char *fmt, ...)
{
    char tmp[64];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(tmp, sizeof(tmp), fmt, ap);
    va_end(ap);
    jw_raw(b, tmp);
}

/* ------------------------------------------------------------------------
 * The datum walk: validate the binary against the writer schema and feed a
 * value (dest) and/or a JSON sink.
 */

struct scan {
    const uint8_t *p, *end;
    struct arena *arena;       /* string copies, when feeding a value */
    const struct wschema *w;   /* enum maps, when feeding a value */
    struct buf *json;          /* JSON sink, or NULL */
    const char *path[CODEC_MAX_DEPTH + 1];
    int depth;
    bool hard;                 /* structure broken: stop */
    bool bad_utf8, bad_field;  /* first content errors, walk goes on */
    char hard_msg[256];
    char utf8_msg[256];
    char field_msg[256];
};

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

enum scan_err { SCAN_HARD, SCAN_UTF8, SCAN_FIELD };

/* Records the first error of each kind. Structural errors end the walk: the
 * callers return SCAN_HARD_FAIL(); content errors let it go on, so that a
 * later structural error still wins (decode_failed before invalid_utf8). */
static void scan_fail(struct scan *s, enum scan_err kind, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void scan_fail(struct scan *s, enum scan_err kind, const char *fmt, ...)
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

#define SCAN_HARD_FAIL(s, ...) (scan_fail((s), SCAN_HARD, __VA_ARGS__), -1)

static size_t scan_left(const struct scan *s) { return (size_t)(s->end - s->p); }

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

static int scan_long(struct scan *s, int64_t *out)
{
    uint64_t u;
    if (scan_varint(s, &u, 10) < 0)
        return -1;
    *out = (int64_t)(u >> 1) ^ -(int64_t)(u & 1);
    return 0;
}

static int scan_int(struct scan *s, int32_t *out)
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
    if (scan_long(s, &len) < 0)
        return -1;
    if (len < 0)
        return SCAN_HARD_FAIL(s, "negative %s length %" PRId64, what, len);
    if ((uint64_t)len > scan_left(s))
        return SCAN_HARD_FAIL(s,
                         "%s length %" PRId64 " exceeds the %zu bytes left",
                         what, len, scan_left(s));
    *out = (size_t)len;
    return 0;
}

/* A string: checked, then copied into the arena when feeding a value. On
 * return *str is the arena copy (feeding) or the raw bytes. */
static int scan_string_bytes(struct scan *s, const char *what, bool want_copy,
                             const char **str, size_t *n)
{
    size_t len;
    if (scan_len(s, what, &len) < 0)
        return -1;
    const uint8_t *raw = s->p;
    s->p += len;
    size_t bad;
    if (!utf8_valid(raw, len, &bad))
        scan_fail(s, SCAN_UTF8, "%sinvalid UTF-8 at byte %zu",
                  strcmp(what, "string") ? "map key: " : "", bad);
    else if (len && memchr(raw, 0, len))
        scan_fail(s, SCAN_FIELD, "%sNUL byte at byte %zu",
                  strcmp(what, "string") ? "map key: " : "",
                  (size_t)((const uint8_t *)memchr(raw, 0, len) - raw));
    *n = len;
    *str = want_copy ? arena_strndup(s->arena, (const char *)raw, len)
                     : (const char *)raw;
    return 0;
}

static int scan_fixed_bytes(struct scan *s, size_t n, const uint8_t **out)
{
    if (n > scan_left(s))
        return SCAN_HARD_FAIL(s, "datum truncated: %zu bytes needed, %zu left",
                         n, scan_left(s));
    *out = s->p;
    s->p += n;
    return 0;
}

/* The scalars scan_value() and the direct walk read alike. */

static int scan_double(struct scan *s, double *out)
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
static int scan_bool(struct scan *s, bool *out)
{
    const uint8_t *raw;
    if (scan_fixed_bytes(s, 1, &raw) < 0)
        return -1;
    if (*raw > 1)
        scan_fail(s, SCAN_FIELD, "boolean byte %u is neither 0 nor 1", *raw);
    *out = *raw != 0;
    return 0;
}

/* A union's branch index; out of range, the datum is broken. */
static int scan_branch(struct scan *s, avro_schema_t sc, int *out)
{
    int64_t disc;
    if (scan_long(s, &disc) < 0)
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
static int scan_enum_index(struct scan *s, avro_schema_t sc, int *out)
{
    int64_t idx;
    if (scan_long(s, &idx) < 0)
        return -1;
    int n = avro_schema_enum_number_of_symbols(sc);
    if (idx < 0 || idx >= n) {
        scan_fail(s, SCAN_FIELD, "enum index %" PRId64 " out of range 0..%d", idx,
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

static int scan_value(struct scan *s, avro_schema_t sc, avro_value_t *dest);

/* The item count of the next block of an array or map (0: the end), its
 * byte size skipped when the writer gave one (a negative count). */
static int scan_block_count(struct scan *s, int64_t *out)
{
    int64_t count;
    if (scan_long(s, &count) < 0)
        return -1;
    if (count < 0) {
        int64_t bytes;
        if (count == INT64_MIN)
            return SCAN_HARD_FAIL(s, "bad block count");
        count = -count;
        if (scan_long(s, &bytes) < 0)
            return -1;
        if (bytes < 0)
            return SCAN_HARD_FAIL(s, "negative block size");
    }
    /* Every item takes at least one byte in our schemas (map keys always
     * do), so a count beyond the bytes left is corrupt: checking it here
     * bounds the loop and the value's growth. */
    if ((uint64_t)count > scan_left(s))
        return SCAN_HARD_FAIL(s,
                              "block of %" PRId64 " items exceeds the %zu bytes left",
                              count, scan_left(s));
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
        if (scan_block_count(s, &count) < 0)
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
                if (scan_string_bytes(s, "map key", dest != NULL, &key, &klen) < 0)
                    return -1;
                if (s->json) {
                    jw_string(s->json, (const uint8_t *)key, klen);
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
            int rc = scan_value(s, item, cp);
            s->depth--;
            if (rc < 0)
                return -1;
        }
    }
    if (s->json)
        buf_put_u8(s->json, is_map ? '}' : ']');
    return 0;
}

static int scan_value(struct scan *s, avro_schema_t sc, avro_value_t *dest)
{
    sc = skip_links(sc);
    if (s->depth >= CODEC_MAX_DEPTH)
        return SCAN_HARD_FAIL(s, "nested deeper than %d", CODEC_MAX_DEPTH);
    switch (avro_typeof(sc)) {
    case AVRO_STRING: {
        const char *str;
        size_t n;
        if (scan_string_bytes(s, "string", dest != NULL, &str, &n) < 0)
            return -1;
        if (s->json)
            jw_string(s->json, (const uint8_t *)str, n);
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
            jw_bytes(s->json, raw, n);
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
            jw_bytes(s->json, raw, n);
        if (dest && avro_value_set_fixed(dest, (void *)raw, n) != 0)
            return scan_avro_fail(s, "cannot store fixed");
        return 0;
    }
    case AVRO_INT32: {
        int32_t v;
        if (scan_int(s, &v) < 0)
            return -1;
        if (s->json)
            jw_fmt(s->json, "%" PRId32, v);
        if (dest && avro_value_set_int(dest, v) != 0)
            return scan_avro_fail(s, "cannot store int");
        return 0;
    }
    case AVRO_INT64: {
        int64_t v;
        if (scan_long(s, &v) < 0)
            return -1;
        if (s->json)
            jw_fmt(s->json, "%" PRId64, v);
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
            jw_double(s->json, f);
        if (dest && avro_value_set_float(dest, f) != 0)
            return scan_avro_fail(s, "cannot store float");
        return 0;
    }
    case AVRO_DOUBLE: {
        double d;
        if (scan_double(s, &d) < 0)
            return -1;
        if (s->json)
            jw_double(s->json, d);
        if (dest && avro_value_set_double(dest, d) != 0)
            return scan_avro_fail(s, "cannot store double");
        return 0;
    }
    case AVRO_BOOLEAN: {
        bool b;
        if (scan_bool(s, &b) < 0)
            return -1;
        if (s->json)
            jw_raw(s->json, b ? "true" : "false");
        if (dest && avro_value_set_boolean(dest, b) != 0)
            return scan_avro_fail(s, "cannot store boolean");
        return 0;
    }
    case AVRO_NULL:
        if (s->json)
            jw_raw(s->json, "null");
        if (dest && avro_value_set_null(dest) != 0)
            return scan_avro_fail(s, "cannot store null");
        return 0;
    case AVRO_ENUM: {
        int idx;
        int in = scan_enum_index(s, sc, &idx);
        if (in <= 0) {
            if (in == 0 && s->json)
                jw_raw(s->json, "null");
            return in;
        }
        const char *sym = avro_schema_enum_get(sc, idx);
        if (s->json)
            jw_string(s->json, (const uint8_t *)sym, strlen(sym));
        if (dest) {
            int ridx = idx;
            const struct enum_map *m = find_enum_map(s->w, sc);
            if (m)
                ridx = m->to_reader[idx];
            if (ridx < 0) {
                scan_fail(s, SCAN_FIELD, "symbol '%s' unknown to the reader", sym);
                return 0;
            }
            if (avro_value_set_enum(dest, ridx) != 0)
                return scan_avro_fail(s, "cannot store enum");
        }
        return 0;
    }
    case AVRO_UNION: {
        int disc;
        if (scan_branch(s, sc, &disc) < 0)
            return -1;
        avro_value_t branch, *bp = NULL;
        if (dest) {
            if (avro_value_set_branch(dest, disc, &branch) != 0)
                return scan_avro_fail(s, "union branch not readable");
            bp = &branch;
        }
        return scan_value(s, avro_schema_union_branch(sc, disc), bp);
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
                jw_string(s->json, (const uint8_t *)name, strlen(name));
                buf_put_u8(s->json, ':');
            }
            s->path[s->depth++] = name;
            int rc = scan_value(s, avro_schema_record_field_get_by_index(sc, (int)i),
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
static void scan_datum(struct scan *s, avro_schema_t sc, avro_value_t *dest)
{
    if (scan_value(s, sc, dest) == 0 && s->p != s->end)
        scan_fail(s, SCAN_HARD, "%zu trailing bytes after the datum",
                  scan_left(s));
}

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
    if (scan_branch(s, sc, &b) < 0)
        return -1;
    *is_null = avro_typeof(skip_links(avro_schema_union_branch(sc, b))) == AVRO_NULL;
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
        if (scan_block_count(s, &count) < 0)
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
            if (scan_string_bytes(s, "map key", true, &kv->key, &len) < 0)
                return -1;
            s->path[s->depth++] = "[]";
            int rc = scan_string_bytes(s, "string", true, &kv->value, &len);
            s->depth--;
            if (rc < 0)
                return -1;
        }
    }
    *out = kvs;
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
        if (!is_null && scan_string_bytes(s, "string", true, &str, &n) < 0)
            return -1;
        memcpy(dst, &str, sizeof(str));
        return 0;
    }
    case FIELD_INT: {
        int32_t v;
        if (scan_int(s, &v) < 0)
            return -1;
        memcpy(dst, &v, sizeof(v));
        return 0;
    }
    case FIELD_LONG: {
        int64_t v;
        if (scan_long(s, &v) < 0)
            return -1;
        memcpy(dst, &v, sizeof(v));
        return 0;
    }
    case FIELD_BOOL: {
        bool v;
        if (scan_bool(s, &v) < 0)
            return -1;
        memcpy(dst, &v, sizeof(v));
        return 0;
    }
    case FIELD_OPT_DOUBLE: {
        bool is_null;
        double v = 0;
        if (scan_opt(s, d->sc, &is_null) < 0 ||
            (!is_null && scan_double(s, &v) < 0))
            return -1;
        bool has = !is_null;
        memcpy(dst, &v, sizeof(v));
        memcpy((char *)ev + f->aux, &has, sizeof(has));
        return 0;
    }
    case FIELD_ENUM: {
        int idx;
        int in = scan_enum_index(s, d->sc, &idx);
        if (in <= 0)
            return in;
        int v = d->enum_val[idx];
        if (v == ENUM_UNHANDLED)
            scan_fail(s, SCAN_FIELD, "symbol '%s' is not handled",
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
        int rc = d->spec ? scan_field_into(s, d, ev) : scan_value(s, d->sc, NULL);
        s->depth--;
        if (rc < 0)
            return;
    }
    if (s->p != s->end)
        scan_fail(s, SCAN_HARD, "%zu trailing bytes after the datum",
                  scan_left(s));
}

/* ------------------------------------------------------------------------
 * Framing
 */

static int frame_parse(const struct codec *c, const uint8_t *v, size_t vlen,
                       struct wschema **w, struct codec_error *err)
{
    if (!v || vlen == 0) {
        cerr(err, "empty_value", "empty value");
        return -1;
    }
    if (v[0] != 0) {
        cerr(err, "bad_magic", "first byte is 0x%02x, expected 0x00 (Confluent framing)",
             v[0]);
        return -1;
    }
    if (vlen < 5) {
        cerr(err, "truncated_header", "value of %zu bytes is shorter than the 5-byte header",
             vlen);
        return -1;
    }
    int32_t id = (int32_t)((uint32_t)v[1] << 24 | (uint32_t)v[2] << 16 |
                           (uint32_t)v[3] << 8 | (uint32_t)v[4]);
    *w = find_ws(c, id);
    if (!*w) {
        cerr(err, "unknown_schema_id", "unknown schema id %" PRId32, id);
        return -1;
    }
    return 0;
}

static void frame_header(struct buf *out, int32_t id)
{
    uint8_t h[5] = {0, (uint8_t)((uint32_t)id >> 24), (uint8_t)((uint32_t)id >> 16),
                    (uint8_t)((uint32_t)id >> 8), (uint8_t)id};
    buf_append(out, h, sizeof(h));
}

/* Writes header + datum of v into out (reset first). */
static int frame_value(struct codec *c, int32_t id, avro_value_t *v,
                       struct buf *out, char *msg, size_t msglen)
{
    size_t size;
    if (avro_value_sizeof(v, &size) != 0) {
        errf(msg, msglen, "cannot size the datum: %s", avro_strerror());
        return -1;
    }
    buf_reset(out);
    buf_reserve(out, 5 + size + 1);
    frame_header(out, id);
    avro_writer_memory_set_dest(c->writer, (const char *)out->data + 5,
                                (int64_t)size);
    if (avro_value_write(c->writer, v) != 0) {
        errf(msg, msglen, "cannot write the datum: %s", avro_strerror());
        return -1;
    }
    out->len = 5 + size;
    return 0;
}

/* ------------------------------------------------------------------------
 * Decoding into struct event
 */

static int set_default(const struct record_field *f, const struct fdefault *d,
                       struct event *ev, struct codec_error *err)
{
    char *dst = (char *)ev + f->off;
    if (!d->present) { /* codec_open makes sure this cannot happen */
        cerr(err, "invalid_field", "field '%s': no value and no default", f->name);
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
            cerr(err, "invalid_field", "field '%s': symbol '%s' is not handled",
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
    }
    if (rc != 0) {
        cerr(err, "invalid_field", "field '%s': unexpected value in the reader record",
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
        cerr(err, "wrong_record_type", "no such event kind %d", (int)kind);
        return -1;
    }
    const struct record_field *kf = &records_table[kind].fields[c->rec[kind].key_field];
    if (!key || klen == 0) {
        cerr(err, "missing_key", "message has no key (the %s)", kf->name);
        return -1;
    }
    if (!utf8_valid(key, klen, &bad)) {
        cerr(err, "invalid_utf8", "key: invalid UTF-8 at byte %zu", bad);
        return -1;
    }
    if (frame_parse(c, val, vlen, &w, err) < 0)
        return -1;
    if (w->rec != (int)kind) {
        cerr(err, "wrong_record_type", "schema id %" PRId32 " is %s, topic carries %s",
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
            cerr(err, "decode_failed", "cannot reset the reader value: %s",
                 avro_strerror());
            return -1;
        }
        scan_datum(&s, w->schema, dest);
    }
    if (s.hard) {
        cerr(err, "decode_failed", "%s", s.hard_msg);
        return -1;
    }
    if (s.bad_utf8) {
        cerr(err, "invalid_utf8", "%s", s.utf8_msg);
        return -1;
    }
    if (s.bad_field) {
        cerr(err, "invalid_field", "%s", s.field_msg);
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
                cerr(err, "decode_failed", "field '%s': %s", specs[i].name,
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
        cerr(err, "key_mismatch", "key '%.*s' differs from %s '%s'",
             (int)(klen > 64 ? 64 : klen), (const char *)key, kf->name, kv);
        return -1;
    }
    ev->key = kv;
    return 0;
}

/* ------------------------------------------------------------------------
 * Encoding alerts
 */

struct enc {
    struct codec_error *err;
};

static int enc_fail(struct enc *e, const char *field, const char *what)
{
    cerr(e->err, "encode_failed", "field '%s': %s", field, what);
    return -1;
}

static int enc_field(struct enc *e, avro_value_t *rec, const char *name,
                     avro_value_t *f)
{
    if (avro_value_get_by_name(rec, name, f, NULL) != 0)
        return enc_fail(e, name, "not in the writer schema");
    return 0;
}

static int enc_check_strn(struct enc *e, const char *name, const char *s,
                          size_t n)
{
    size_t bad;
    if (!utf8_valid((const uint8_t *)s, n, &bad)) {
        char what[64];
        snprintf(what, sizeof(what), "invalid UTF-8 at byte %zu", bad);
        return enc_fail(e, name, what);
    }
    return 0;
}

static int enc_check_str(struct enc *e, const char *name, const char *s)
{
    return enc_check_strn(e, name, s, strlen(s));
}

static int enc_str(struct enc *e, avro_value_t *rec, const char *name,
                   const char *s)
{
    avro_value_t f;
    if (!s)
        return enc_fail(e, name, "required but NULL");
    if (enc_field(e, rec, name, &f) < 0 || enc_check_str(e, name, s) < 0)
        return -1;
    if (avro_value_set_string(&f, s) != 0)
        return enc_fail(e, name, avro_strerror());
    return 0;
}

/* null|string: the branch is found by type, not assumed. */
static int enc_opt_str(struct enc *e, avro_value_t *rec, const char *name,
                       const char *s)
{
    avro_value_t f, b;
    if (enc_field(e, rec, name, &f) < 0)
        return -1;
    avro_schema_t us = avro_value_get_schema(&f);
    if (avro_typeof(us) != AVRO_UNION)
        return s ? enc_str(e, rec, name, s) : enc_fail(e, name, "required but NULL");
    int want = -1;
    for (size_t i = 0; i < avro_schema_union_size(us); i++) {
        avro_type_t t = avro_typeof(skip_links(avro_schema_union_branch(us, (int)i)));
        if ((s && t == AVRO_STRING) || (!s && t == AVRO_NULL)) {
            want = (int)i;
            break;
        }
    }
    if (want < 0)
        return enc_fail(e, name, "union has no branch for this value");
    if (s && enc_check_str(e, name, s) < 0)
        return -1;
    if (avro_value_set_branch(&f, want, &b) != 0 ||
        (s ? avro_value_set_string(&b, s) : avro_value_set_null(&b)) != 0)
        return enc_fail(e, name, avro_strerror());
    return 0;
}

static int enc_double(struct enc *e, avro_value_t *rec, const char *name,
                      double d)
{
    avro_value_t f;
    if (enc_field(e, rec, name, &f) < 0)
        return -1;
    if (avro_value_set_double(&f, d) != 0)
        return enc_fail(e, name, avro_strerror());
    return 0;
}

static int enc_enum(struct enc *e, avro_value_t *rec, const char *name,
                    const char *sym)
{
    avro_value_t f;
    if (enc_field(e, rec, name, &f) < 0)
        return -1;
    int idx = avro_schema_enum_get_by_name(avro_value_get_schema(&f), sym);
    if (idx < 0)
        return enc_fail(e, name, "value is not a symbol of the enum");
    if (avro_value_set_enum(&f, idx) != 0)
        return enc_fail(e, name, avro_strerror());
    return 0;
}

static int enc_metrics(struct enc *e, avro_value_t *rec, const char *name,
                       const struct metric *m, size_t n)
{
    avro_value_t f, child;
    if (enc_field(e, rec, name, &f) < 0)
        return -1;
    if (n && !m)
        return enc_fail(e, name, "NULL metrics with a nonzero count");
    for (size_t i = 0; i < n; i++) {
        if (!m[i].name)
            return enc_fail(e, name, "metric without a name");
        if (enc_check_str(e, name, m[i].name) < 0)
            return -1;
        if (avro_value_add(&f, m[i].name, &child, NULL, NULL) != 0 ||
            avro_value_set_double(&child, m[i].value) != 0)
            return enc_fail(e, name, avro_strerror());
    }
    return 0;
}

static int enc_provenance(struct enc *e, avro_value_t *v, const struct alert *al)
{
    avro_value_t f;
    if (enc_str(e, v, "alert_id", al->alert_id) < 0 ||
        enc_str(e, v, "customer_id", al->customer_id) < 0 ||
        enc_str(e, v, "trigger_event_id", al->trigger_event_id) < 0 ||
        enc_str(e, v, "source_topic", al->src.topic) < 0)
        return -1;
    if (enc_field(e, v, "source_partition", &f) < 0 ||
        avro_value_set_int(&f, al->src.partition) != 0)
        return enc_fail(e, "source_partition", "cannot set");
    if (enc_field(e, v, "source_offset", &f) < 0 ||
        avro_value_set_long(&f, al->src.offset) != 0)
        return enc_fail(e, "source_offset", "cannot set");
    if (enc_field(e, v, "event_time", &f) < 0 ||
        avro_value_set_long(&f, al->event_time) != 0)
        return enc_fail(e, "event_time", "cannot set");
    return 0;
}

static int enc_rerating(struct enc *e, avro_value_t *v, const struct lead_rerating *r)
{
    avro_value_t arr, item;
    if (enc_opt_str(e, v, "previous_tier", r->previous_tier) < 0 ||
        enc_str(e, v, "tier", r->tier) < 0 ||
        enc_double(e, v, "previous_score", r->previous_score) < 0 ||
        enc_double(e, v, "score", r->score) < 0 ||
        enc_opt_str(e, v, "trend", r->trend) < 0 ||
        enc_double(e, v, "fit_score", r->fit_score) < 0 ||
        enc_double(e, v, "intent_score", r->intent_score) < 0 ||
        enc_field(e, v, "reasons", &arr) < 0)
        return -1;
    if (r->n_reasons > ALERT_MAX_REASONS)
        return enc_fail(e, "reasons", "more than ALERT_MAX_REASONS");
    for (size_t i = 0; i < r->n_reasons; i++) {
        const struct rerating_reason *rr = &r->reasons[i];
        if (avro_value_append(&arr, &item, NULL) != 0)
            return enc_fail(e, "reasons", avro_strerror());
        if (enc_str(e, &item, "factor", rr->factor) < 0 ||
            enc_str(e, &item, "node_type", rr->node_type) < 0 ||
            enc_str(e, &item, "node_id", rr->node_id) < 0 ||
            enc_double(e, &item, "contribution", rr->contribution) < 0)
            return -1;
    }
    return 0;
}

static int enc_coaching(struct enc *e, avro_value_t *v, const struct coaching_alert *ca)
{
    avro_value_t arr, item;
    if (enc_opt_str(e, v, "rep_id", ca->rep_id) < 0 ||
        enc_opt_str(e, v, "meeting_id", ca->meeting_id) < 0 ||
        enc_opt_str(e, v, "opportunity_id", ca->opportunity_id) < 0 ||
        enc_opt_str(e, v, "document_id", ca->document_id) < 0 ||
        enc_str(e, v, "rule", ca->rule) < 0 ||
        enc_enum(e, v, "category", coaching_category_name(ca->category)) < 0 ||
        enc_enum(e, v, "severity", alert_severity_name(ca->severity)) < 0 ||
        enc_str(e, v, "message", ca->message) < 0 ||
        enc_metrics(e, v, "metrics", ca->metrics, ca->n_metrics) < 0 ||
        enc_field(e, v, "evidence", &arr) < 0)
        return -1;
    if (ca->n_evidence && !ca->evidence)
        return enc_fail(e, "evidence", "NULL evidence with a nonzero count");
    for (size_t i = 0; i < ca->n_evidence; i++) {
        const char *s = ca->evidence[i];
        if (!s)
            return enc_fail(e, "evidence", "NULL item");
        if (enc_check_str(e, "evidence", s) < 0)
            return -1;
        if (avro_value_append(&arr, &item, NULL) != 0 ||
            avro_value_set_string(&item, s) != 0)
            return enc_fail(e, "evidence", avro_strerror());
    }
    return 0;
}

static int enc_summary(struct enc *e, avro_value_t *v, const struct meeting_summary *ms)
{
    if (enc_str(e, v, "meeting_id", ms->meeting_id) < 0 ||
        enc_opt_str(e, v, "rep_id", ms->rep_id) < 0 ||
        enc_str(e, v, "closed_by", ms->closed_by) < 0 ||
        enc_metrics(e, v, "metrics", ms->metrics, ms->n_metrics) < 0)
        return -1;
    return 0;
}

/*
 * The direct encoder. Building Avro C's generic value field by field (a
 * lookup by name each) and then walking it twice (sizeof, write) cost
 * ~2.5 us per alert. A writer schema whose fields are exactly those of
 * alert_layouts[] - names, types and order, as the shipped schemas have
 * them - is written straight into bytes instead; any other goes through
 * the generic value (the enc_* functions above). The tests hold the two
 * to the same bytes, and to the same error for one bad field (with
 * several, each path names the first it meets: the direct one goes in
 * schema order, the generic one provenance first).
 */

enum aslot { A_STR, A_OPT_STR, A_DOUBLE, A_INT, A_LONG, A_ENUM, A_METRICS,
             A_EVIDENCE, A_REASONS };

/* Where a field's value comes from. */
enum asrc {
    S_ALERT_ID, S_CUSTOMER_ID, S_TRIGGER, S_TOPIC, S_PARTITION, S_OFFSET,
    S_EVENT_TIME,
    S_R_PREV_TIER, S_R_TIER, S_R_PREV_SCORE, S_R_SCORE, S_R_TREND, S_R_FIT,
    S_R_INTENT, S_R_REASONS,
    S_C_REP, S_C_MEETING, S_C_OPP, S_C_DOC, S_C_RULE, S_C_CATEGORY,
    S_C_SEVERITY, S_C_MESSAGE, S_C_METRICS, S_C_EVIDENCE,
    S_M_MEETING, S_M_REP, S_M_CLOSED_BY, S_M_METRICS,
    S_F_FACTOR, S_F_NODE_TYPE, S_F_NODE_ID, S_F_CONTRIBUTION,
};

struct afield {
    const char *name;
    enum aslot slot;
    enum asrc src;
};

#define PROVENANCE_HEAD {"alert_id", A_STR, S_ALERT_ID}, \
    {"customer_id", A_STR, S_CUSTOMER_ID}
#define PROVENANCE_TAIL {"trigger_event_id", A_STR, S_TRIGGER}, \
    {"source_topic", A_STR, S_TOPIC}, {"source_partition", A_INT, S_PARTITION}, \
    {"source_offset", A_LONG, S_OFFSET}, {"event_time", A_LONG, S_EVENT_TIME}

static const struct afield rerating_layout[] = {
    PROVENANCE_HEAD,
    {"previous_tier", A_OPT_STR, S_R_PREV_TIER}, {"tier", A_STR, S_R_TIER},
    {"previous_score", A_DOUBLE, S_R_PREV_SCORE}, {"score", A_DOUBLE, S_R_SCORE},
    {"reasons", A_REASONS, S_R_REASONS},
    PROVENANCE_TAIL,
    {"trend", A_OPT_STR, S_R_TREND}, {"fit_score", A_DOUBLE, S_R_FIT},
    {"intent_score", A_DOUBLE, S_R_INTENT}};

static const struct afield coaching_layout[] = {
    PROVENANCE_HEAD,
    {"rep_id", A_OPT_STR, S_C_REP}, {"meeting_id", A_OPT_STR, S_C_MEETING},
    {"opportunity_id", A_OPT_STR, S_C_OPP}, {"document_id", A_OPT_STR, S_C_DOC},
    {"rule", A_STR, S_C_RULE}, {"category", A_ENUM, S_C_CATEGORY},
    {"severity", A_ENUM, S_C_SEVERITY}, {"message", A_STR, S_C_MESSAGE},
    {"metrics", A_METRICS, S_C_METRICS}, {"evidence", A_EVIDENCE, S_C_EVIDENCE},
    PROVENANCE_TAIL};

static const struct afield summary_layout[] = {
    PROVENANCE_HEAD,
    {"meeting_id", A_STR, S_M_MEETING}, {"rep_id", A_OPT_STR, S_M_REP},
    {"closed_by", A_STR, S_M_CLOSED_BY}, {"metrics", A_METRICS, S_M_METRICS},
    PROVENANCE_TAIL};

/* The items of a rerating's reasons. */
static const struct afield reason_layout[] = {
    {"factor", A_STR, S_F_FACTOR}, {"node_type", A_STR, S_F_NODE_TYPE},
    {"node_id", A_STR, S_F_NODE_ID}, {"contribution", A_DOUBLE, S_F_CONTRIBUTION}};

#define LAYOUT(a) a, sizeof(a) / sizeof((a)[0])
static const struct {
    const struct afield *fields;
    size_t n;
} alert_layouts[ALERT_KIND_COUNT] = {
    [ALERT_LEAD_RERATING] = {LAYOUT(rerating_layout)},
    [ALERT_COACHING] = {LAYOUT(coaching_layout)},
    [ALERT_MEETING_SUMMARY] = {LAYOUT(summary_layout)}};

#define CAT_COUNT (CAT_STAGE_CLAIM_UNSUPPORTED + 1)
#define SEV_COUNT (SEV_RED + 1)

/* What a writer schema adds to its layout: union branches and enum
 * indexes (-1: the schema lacks the symbol). */
struct alert_plan {
    enum alert_kind kind;
    int8_t null_branch[32], str_branch[32]; /* A_OPT_STR fields, by index */
    int category[CAT_COUNT], severity[SEV_COUNT];
};

/* Whether schema field sc fits slot (and, for A_OPT_STR, its branches). */
static bool aslot_fits(avro_schema_t sc, enum aslot slot, int8_t *null_b,
                       int8_t *str_b)
{
    sc = skip_links(sc);
    switch (slot) {
    case A_STR: return avro_typeof(sc) == AVRO_STRING;
    case A_OPT_STR:
        if (!is_opt_of(sc, AVRO_STRING))
            return false;
        *null_b = avro_typeof(skip_links(avro_schema_union_branch(sc, 0))) ==
                          AVRO_NULL
                      ? 0
                      : 1;
        *str_b = (int8_t)(1 - *null_b);
        return true;
    case A_DOUBLE: return avro_typeof(sc) == AVRO_DOUBLE;
    case A_INT: return avro_typeof(sc) == AVRO_INT32;
    case A_LONG: return avro_typeof(sc) == AVRO_INT64;
    case A_ENUM: return avro_typeof(sc) == AVRO_ENUM;
    case A_METRICS:
        return avro_typeof(sc) == AVRO_MAP &&
               avro_typeof(skip_links(avro_schema_map_values(sc))) == AVRO_DOUBLE;
    case A_EVIDENCE:
        return avro_typeof(sc) == AVRO_ARRAY &&
               avro_typeof(skip_links(avro_schema_array_items(sc))) == AVRO_STRING;
    case A_REASONS: {
        if (avro_typeof(sc) != AVRO_ARRAY)
            return false;
        avro_schema_t item = skip_links(avro_schema_array_items(sc));
        size_t n = sizeof(reason_layout) / sizeof(reason_layout[0]);
        if (avro_typeof(item) != AVRO_RECORD || avro_schema_record_size(item) != n)
            return false;
        for (size_t i = 0; i < n; i++)
            if (strcmp(avro_schema_record_field_name(item, (int)i),
                       reason_layout[i].name) != 0 ||
                !aslot_fits(avro_schema_record_field_get_by_index(item, (int)i),
                            reason_layout[i].slot, null_b, str_b))
                return false;
        return true;
    }
    }
    return false;
}

/* The plan for writer w of alert kind k, or NULL when its schema is not
 * laid out as alert_layouts[k] (then the generic path encodes it). */
static struct alert_plan *alert_plan_new(const struct wschema *w,
                                         enum alert_kind k)
{
    const struct afield *f = alert_layouts[k].fields;
    size_t n = alert_layouts[k].n;
    struct alert_plan p = {.kind = k};
    if (n > sizeof(p.null_branch) || avro_typeof(w->schema) != AVRO_RECORD ||
        avro_schema_record_size(w->schema) != n)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        avro_schema_t sc = avro_schema_record_field_get_by_index(w->schema, (int)i);
        if (strcmp(avro_schema_record_field_name(w->schema, (int)i), f[i].name) != 0 ||
            !aslot_fits(sc, f[i].slot, &p.null_branch[i], &p.str_branch[i]))
            return NULL;
        if (f[i].slot != A_ENUM)
            continue;
        sc = skip_links(sc);
        bool cat = f[i].src == S_C_CATEGORY;
        for (int v = 0; v < (cat ? CAT_COUNT : SEV_COUNT); v++) {
            const char *sym = cat ? coaching_category_name((enum coaching_category)v)
                                  : alert_severity_name((enum alert_severity)v);
            (cat ? p.category : p.severity)[v] =
                avro_schema_enum_get_by_name(sc, sym);
        }
    }
    struct alert_plan *out = malloc(sizeof(*out));
    if (out)
        *out = p;
    return out;
}

static int aw_str(struct enc *e, struct buf *out, const char *name, const char *s)
{
    if (!s)
        return enc_fail(e, name, "required but NULL");
    size_t n = strlen(s);
    if (enc_check_strn(e, name, s, n) < 0)
        return -1;
    buf_put_i64(out, (int64_t)n);
    buf_append(out, s, n);
    return 0;
}

static int aw_opt_str(struct enc *e, struct buf *out, const struct alert_plan *p,
                      size_t i, const char *name, const char *s)
{
    if (!s) {
        buf_put_i64(out, p->null_branch[i]);
        return 0;
    }
    buf_put_i64(out, p->str_branch[i]);
    return aw_str(e, out, name, s);
}

/* Whether m[i]'s name came before it. */
static bool metric_seen(const struct metric *m, size_t i)
{
    for (size_t j = 0; j < i; j++)
        if (strcmp(m[j].name, m[i].name) == 0)
            return true;
    return false;
}

static int aw_metrics(struct enc *e, struct buf *out, const char *name,
                      const struct metric *m, size_t n)
{
    if (n && !m)
        return enc_fail(e, name, "NULL metrics with a nonzero count");
    /* A map holds a name once: as the generic value does, a repeated name
     * keeps its first place and takes its last value. */
    size_t uniq = 0;
    for (size_t i = 0; i < n; i++) {
        if (!m[i].name)
            return enc_fail(e, name, "metric without a name");
        if (!metric_seen(m, i))
            uniq++;
    }
    if (uniq)
        buf_put_i64(out, (int64_t)uniq);
    for (size_t i = 0; i < n; i++) {
        if (metric_seen(m, i))
            continue;
        double v = m[i].value;
        for (size_t j = i + 1; j < n; j++)
            if (strcmp(m[j].name, m[i].name) == 0)
                v = m[j].value;
        if (aw_str(e, out, name, m[i].name) < 0)
            return -1;
        buf_put_double(out, v);
    }
    buf_put_i64(out, 0);
    return 0;
}

static int aw_evidence(struct enc *e, struct buf *out, const char *const *ev,
                       size_t n)
{
    if (n && !ev)
        return enc_fail(e, "evidence", "NULL evidence with a nonzero count");
    if (n)
        buf_put_i64(out, (int64_t)n);
    for (size_t i = 0; i < n; i++) {
        if (!ev[i])
            return enc_fail(e, "evidence", "NULL item");
        if (aw_str(e, out, "evidence", ev[i]) < 0)
            return -1;
    }
    buf_put_i64(out, 0);
    return 0;
}

static int aw_reasons(struct enc *e, struct buf *out, const struct lead_rerating *r)
{
    if (r->n_reasons > ALERT_MAX_REASONS)
        return enc_fail(e, "reasons", "more than ALERT_MAX_REASONS");
    if (r->n_reasons)
        buf_put_i64(out, (int64_t)r->n_reasons);
    for (size_t i = 0; i < r->n_reasons; i++) {
        const struct rerating_reason *rr = &r->reasons[i];
        if (aw_str(e, out, "factor", rr->factor) < 0 ||
            aw_str(e, out, "node_type", rr->node_type) < 0 ||
            aw_str(e, out, "node_id", rr->node_id) < 0)
            return -1;
        buf_put_double(out, rr->contribution);
    }
    buf_put_i64(out, 0);
    return 0;
}

/* A string field's value, by source. */
static const char *astr(const struct alert *al, enum asrc src)
{
    const struct lead_rerating *r = &al->u.rerating;
    const struct coaching_alert *ca = &al->u.coaching;
    const struct meeting_summary *ms = &al->u.summary;
    switch (src) {
    case S_ALERT_ID: return al->alert_id;
    case S_CUSTOMER_ID: return al->customer_id;
    case S_TRIGGER: return al->trigger_event_id;
    case S_TOPIC: return al->src.topic;
    case S_R_PREV_TIER: return r->previous_tier;
    case S_R_TIER: return r->tier;
    case S_R_TREND: return r->trend;
    case S_C_REP: return ca->rep_id;
    case S_C_MEETING: return ca->meeting_id;
    case S_C_OPP: return ca->opportunity_id;
    case S_C_DOC: return ca->document_id;
    case S_C_RULE: return ca->rule;
    case S_C_MESSAGE: return ca->message;
    case S_M_MEETING: return ms->meeting_id;
    case S_M_REP: return ms->rep_id;
    case S_M_CLOSED_BY: return ms->closed_by;
    default: return NULL;
    }
}

static double adouble(const struct alert *al, enum asrc src)
{
    const struct lead_rerating *r = &al->u.rerating;
    switch (src) {
    case S_R_PREV_SCORE: return r->previous_score;
    case S_R_SCORE: return r->score;
    case S_R_FIT: return r->fit_score;
    default: return r->intent_score;
    }
}

static int alert_write(const struct alert_plan *p, const struct alert *al,
                       struct enc *e, struct buf *out)
{
    const struct afield *f = alert_layouts[p->kind].fields;
    for (size_t i = 0; i < alert_layouts[p->kind].n; i++) {
        int rc = 0;
        switch (f[i].slot) {
        case A_STR: rc = aw_str(e, out, f[i].name, astr(al, f[i].src)); break;
        case A_OPT_STR:
            rc = aw_opt_str(e, out, p, i, f[i].name, astr(al, f[i].src));
            break;
        case A_DOUBLE: buf_put_double(out, adouble(al, f[i].src)); break;
        case A_INT: buf_put_i64(out, al->src.partition); break;
        case A_LONG:
            buf_put_i64(out, f[i].src == S_OFFSET ? al->src.offset : al->event_time);
            break;
        case A_ENUM: {
            const struct coaching_alert *ca = &al->u.coaching;
            bool cat = f[i].src == S_C_CATEGORY;
            unsigned v = cat ? (unsigned)ca->category : (unsigned)ca->severity;
            int idx = v < (cat ? CAT_COUNT : SEV_COUNT)
                          ? (cat ? p->category : p->severity)[v]
                          : -1;
            if (idx < 0)
                return enc_fail(e, f[i].name, "value is not a symbol of the enum");
            buf_put_i64(out, idx);
            break;
        }
        case A_METRICS:
            rc = f[i].src == S_C_METRICS
                     ? aw_metrics(e, out, f[i].name, al->u.coaching.metrics,
                                  al->u.coaching.n_metrics)
                     : aw_metrics(e, out, f[i].name, al->u.summary.metrics,
                                  al->u.summary.n_metrics);
            break;
        case A_EVIDENCE:
            rc = aw_evidence(e, out, al->u.coaching.evidence,
                             al->u.coaching.n_evidence);
            break;
        case A_REASONS: rc = aw_reasons(e, out, &al->u.rerating); break;
        }
        if (rc < 0)
            return -1;
    }
    return 0;
}

void codec_set_generic(struct codec *c, bool generic) { c->generic = generic; }

static int fill_other_fields(struct wschema *w, avro_value_t *v,
                             struct codec_error *err);

int codec_encode_alert(struct codec *c, const struct alert *al, struct buf *out,
                       struct codec_error *err)
{
    struct enc e = {.err = err};
    if ((unsigned)al->kind >= ALERT_KIND_COUNT) {
        cerr(err, "encode_failed", "no such alert kind %d", (int)al->kind);
        return -1;
    }
    int r = REC_INPUTS + (int)al->kind;
    struct wschema *w = &c->ws[c->rec[r].current];
    if (w->plan && !c->generic) {
        buf_reset(out);
        frame_header(out, w->id);
        return alert_write(w->plan, al, &e, out);
    }
    avro_value_t *v = &w->value;
    if (avro_value_reset(v) != 0) {
        cerr(err, "encode_failed", "cannot reset the value: %s", avro_strerror());
        return -1;
    }
    if (fill_other_fields(w, v, err) < 0)
        return -1;
    int rc = enc_provenance(&e, v, al);
    if (rc == 0) {
        switch (al->kind) {
        case ALERT_LEAD_RERATING: rc = enc_rerating(&e, v, &al->u.rerating); break;
        case ALERT_COACHING: rc = enc_coaching(&e, v, &al->u.coaching); break;
        default: rc = enc_summary(&e, v, &al->u.summary); break;
        }
    }
    if (rc < 0)
        return -1;
    char msg[sizeof(err->message)];
    if (frame_value(c, w->id, v, out, msg, sizeof(msg)) < 0) {
        cerr(err, "encode_failed", "%s", msg);
        return -1;
    }
    return 0;
}

/* ------------------------------------------------------------------------
 * JSON -> Avro (the produce tool)
 */

struct jfill {
    const json_t *schema_json; /* the .avsc, for record defaults */
    char path[256];
    size_t plen;
    char *err;
    size_t errlen;
};

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
        errf(j->err, j->errlen, "field '%s': %s", j->path, what);
    else
        errf(j->err, j->errlen, "%s", what);
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
    s = skip_links(s);
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
    b = skip_links(b);
    if (strcmp(avro_schema_type_name(b), key) == 0)
        return true;
    avro_type_t t = avro_typeof(b);
    if (t == AVRO_RECORD || t == AVRO_ENUM || t == AVRO_FIXED) {
        char full[128];
        schema_fullname(b, full, sizeof(full));
        return strcmp(full, key) == 0;
    }
    return false;
}

static int jf_value(struct jfill *j, avro_value_t *v, avro_schema_t s,
                    const json_t *js);

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
            errf(j->err, j->errlen, "missing required field '%s'", j->path);
            jf_pop(j, saved);
            return -1;
        }
        avro_value_t f;
        int rc = avro_value_get_by_index(v, i, &f, NULL) != 0
                     ? jf_fail(j, "%s", avro_strerror())
                     : jf_value(j, &f, avro_schema_record_field_get_by_index(s, (int)i),
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
            errf(j->err, j->errlen, "unknown field '%s'", j->path);
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
    return jf_value(j, &b, avro_schema_union_branch(s, pick), inner);
}

static int jf_value(struct jfill *j, avro_value_t *v, avro_schema_t s,
                    const json_t *js)
{
    s = skip_links(s);
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
                        : jf_value(j, &child, avro_schema_array_items(s), item);
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
                        : jf_value(j, &child, avro_schema_map_values(s), item);
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

static const json_t *json_field(const json_t *rec_json, const char *name);

/* Whether alert kind k carries a top-level field of this name. */
static bool alert_has_field(enum alert_kind k, const char *name)
{
    for (size_t i = 0; i < alert_layouts[k].n; i++)
        if (strcmp(alert_layouts[k].fields[i].name, name) == 0)
            return true;
    return false;
}

/* The current writer w of alert kind k: its plan, when laid out as the
 * shipped schema, and the fields no alert fills (one added for another
 * producer of the topic, say), each with its default. A field without
 * one is refused here, or no alert could be sent. */
static int prepare_alert_writer(struct wschema *w, enum alert_kind k,
                                char *err, size_t errlen)
{
    w->plan = alert_plan_new(w, k);
    size_t n = avro_schema_record_size(w->schema);
    for (size_t i = 0; i < n; i++) {
        const char *name = avro_schema_record_field_name(w->schema, (int)i);
        if (alert_has_field(k, name))
            continue;
        const json_t *jf = json_field(w->json, name);
        const json_t *d = jf ? json_object_get(jf, "default") : NULL;
        if (!d) {
            errf(err, errlen,
                 "%s: field '%s' is not one dealstream fills, and has no default",
                 w->path, name);
            return -1;
        }
        struct other_field *o =
            realloc(w->others, (w->n_others + 1) * sizeof(*w->others));
        if (!o) {
            errf(err, errlen, "out of memory");
            return -1;
        }
        w->others = o;
        w->others[w->n_others++] = (struct other_field){(int)i, d};
    }
    return 0;
}

/* The generic path's value for w: the fields no alert fills get their
 * defaults (the enc_* functions set the rest). */
static int fill_other_fields(struct wschema *w, avro_value_t *v,
                             struct codec_error *err)
{
    for (size_t i = 0; i < w->n_others; i++) {
        int idx = w->others[i].index;
        const char *name = avro_schema_record_field_name(w->schema, idx);
        char msg[200] = "cannot reach the field";
        struct jfill j = {.schema_json = w->json, .err = msg, .errlen = sizeof(msg)};
        avro_value_t f;
        if (avro_value_get_by_index(v, (size_t)idx, &f, NULL) != 0 ||
            jf_value(&j, &f, avro_schema_record_field_get_by_index(w->schema, idx),
                     w->others[i].def) < 0) {
            cerr(err, "encode_failed", "field '%s': its default: %s", name, msg);
            return -1;
        }
    }
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
    int r = record ? find_record(record) : -1;
    if (r < 0) {
        errf(err, errlen, "unknown record '%s'", record ? record : "(null)");
        return -1;
    }
    if (c->rec[r].current < 0) {
        errf(err, errlen, "schemas.ids: no id names %s.avsc (the schema of %s)",
             records_table[r].schema, records_table[r].record);
        return -1;
    }
    struct wschema *w = &c->ws[c->rec[r].current];
    json_error_t je;
    json_t *root = json_loads(json, JSON_REJECT_DUPLICATES, &je);
    int rc = -1;
    if (!root) {
        errf(err, errlen, "invalid JSON at line %d column %d: %s", je.line,
             je.column, je.text);
        goto out;
    }
    if (!json_is_object(root)) {
        errf(err, errlen, "expected a JSON object, got %s", json_type_name(root));
        goto out;
    }
    if (avro_value_reset(&w->value) != 0) {
        errf(err, errlen, "cannot reset the value: %s", avro_strerror());
        goto out;
    }
    struct jfill j = {.schema_json = w->json, .err = err, .errlen = errlen};
    if (jf_value(&j, &w->value, w->schema, root) < 0)
        goto out;
    if (key) {
        const char *kname = records_table[r].key_field;
        const char *kv = json_string_value(json_object_get(root, kname));
        if (!kv || strlen(kv) >= keylen) {
            errf(err, errlen, "%s %s", kname, kv ? "too long for the key buffer"
                                                 : "missing: no message key");
            goto out;
        }
        memcpy(key, kv, strlen(kv) + 1);
    }
    rc = frame_value(c, w->id, &w->value, out, err, errlen);
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
    if (frame_parse(c, val, vlen, &w, &ce) < 0) {
        errf(err, errlen, "%s: %s", ce.reason, ce.message);
        return -1;
    }
    buf_reset(out);
    struct scan s = {.p = (const uint8_t *)val + 5,
                     .end = (const uint8_t *)val + vlen,
                     .json = out};
    scan_datum(&s, w->schema, NULL);
    const char *msg = s.hard ? s.hard_msg : s.bad_utf8 ? s.utf8_msg
                                        : s.bad_field  ? s.field_msg
                                                       : NULL;
    if (msg) {
        errf(err, errlen, "schema id %" PRId32 " (%s): %s", w->id, w->fullname, msg);
        buf_reset(out);
        return -1;
    }
    buf_reserve(out, 1);
    out->data[out->len] = '\0';
    return 0;
}

/* ------------------------------------------------------------------------
 * Lookups
 */

bool codec_reads(const struct codec *c, enum event_kind k)
{
    return (unsigned)k < EVENT_KIND_COUNT && c->rec[k].current >= 0;
}

const char *codec_record_of_alert(enum alert_kind k)
{
    const struct record_def *r = records_of_alert((int)k);
    return r ? r->record : NULL;
}
int32_t codec_writer_id(const struct codec *c, const char *record)
{
    int r = record ? find_record(record) : -1;
    if (r < 0 || c->rec[r].current < 0)
        return -1;
    return c->ws[c->rec[r].current].id;
}

/* ------------------------------------------------------------------------
 * Opening
 */

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
        errf(err, errlen, "%s: %s", path, strerror(errno));
        goto out;
    }
    text = malloc(CODEC_MAX_SCHEMA_BYTES + 1);
    if (!text) {
        errf(err, errlen, "%s: out of memory", path);
        goto out;
    }
    size_t n = fread(text, 1, CODEC_MAX_SCHEMA_BYTES + 1, fp);
    if (ferror(fp) || n > CODEC_MAX_SCHEMA_BYTES) {
        errf(err, errlen, "%s: %s", path,
             ferror(fp) ? "read error" : "larger than 1 MiB");
        goto out;
    }
    json_error_t je;
    *json = json_loadb(text, n, JSON_REJECT_DUPLICATES, &je);
    if (!*json) {
        errf(err, errlen, "%s:%d:%d: %s", path, je.line, je.column, je.text);
        goto out;
    }
    if (avro_schema_from_json_length(text, n, schema) != 0) {
        errf(err, errlen, "%s: not a valid Avro schema: %s", path, avro_strerror());
        goto out;
    }
    if (avro_typeof(*schema) != AVRO_RECORD) {
        errf(err, errlen, "%s: the top-level schema must be a record", path);
        goto out;
    }
    rc = 0;
out:
    if (rc < 0) {
        json_decref(*json);
        *json = NULL;
        if (*schema)
            avro_schema_decref(*schema);
        *schema = NULL;
    }
    free(text);
    if (fp)
        fclose(fp);
    return rc;
}

static const json_t *json_field(const json_t *rec_json, const char *name)
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
    default: return "map<string>";
    }
}

static bool fkind_matches(enum record_ftype k, avro_schema_t s)
{
    s = skip_links(s);
    switch (k) {
    case FIELD_STR: return avro_typeof(s) == AVRO_STRING;
    case FIELD_OPT_STR: return is_opt_of(s, AVRO_STRING);
    case FIELD_INT: return avro_typeof(s) == AVRO_INT32;
    case FIELD_LONG: return avro_typeof(s) == AVRO_INT64;
    case FIELD_BOOL: return avro_typeof(s) == AVRO_BOOLEAN;
    case FIELD_OPT_DOUBLE: return is_opt_of(s, AVRO_DOUBLE);
    case FIELD_ENUM: return avro_typeof(s) == AVRO_ENUM;
    default:
        return avro_typeof(s) == AVRO_MAP &&
               avro_typeof(skip_links(avro_schema_map_values(s))) == AVRO_STRING;
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
        errf(err, errlen, "out of memory");
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
            errf(err, errlen, "%s: field '%s' must exist with type %s", rec->path,
                 f->name, fkind_avro(f->type));
            return -1;
        }
        const json_t *jf = json_field(rec->json, f->name);
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
        }
        if (!ok) {
            errf(err, errlen, "%s: field '%s': unsupported default value", rec->path,
                 f->name);
            return -1;
        }
        fd->present = true;
    }
    if (rec->key_field < 0) {
        errf(err, errlen, "%s: the key field '%s' is not a string field of %s",
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
        errf(err, errlen, "out of memory");
        return -1;
    }
    for (size_t i = 0; i < nw; i++) {
        char wname[128], rname[128];
        schema_fullname(wen[i], wname, sizeof(wname));
        avro_schema_t rs = NULL;
        for (size_t k = 0; k < nr && !rs; k++) {
            schema_fullname(ren[k], rname, sizeof(rname));
            if (strcmp(wname, rname) == 0)
                rs = ren[k];
        }
        struct enum_map *m = &w->enums[w->n_enums++];
        m->wenum = wen[i];
        m->n = avro_schema_enum_number_of_symbols(wen[i]);
        m->to_reader = calloc(m->n ? (size_t)m->n : 1, sizeof(int));
        if (!m->to_reader) {
            errf(err, errlen, "out of memory");
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
        errf(err, errlen, "out of memory");
        return -1;
    }
    w->n_direct = n;
    for (size_t j = 0; j < n; j++) {
        struct direct_field *d = &w->direct[j];
        d->name = avro_schema_record_field_name(w->schema, (int)j);
        d->sc = skip_links(avro_schema_record_field_get_by_index(w->schema, (int)j));
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
            errf(err, errlen, "out of memory");
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
        errf(err, errlen, "%s: no fields", rec->path);
        goto out;
    }
    for (size_t i = json_array_size(fields); i-- > 0;) {
        json_t *f = json_array_get(fields, i);
        const char *name = json_string_value(json_object_get(f, "name"));
        if (!name || avro_schema_record_field_get_index(w->schema, name) >= 0)
            continue;
        if (!json_object_get(f, "default")) {
            errf(err, errlen,
                 "schema id %" PRId32 " (%s) cannot be read as %s: it lacks field "
                 "'%s', which has no default in %s",
                 w->id, w->path, rec->fullname, name, rec->path);
            goto out;
        }
        json_array_remove(fields, i);
    }
    text = json_dumps(eff, JSON_COMPACT);
    if (!text || avro_schema_from_json_length(text, strlen(text), &w->eff) != 0) {
        errf(err, errlen, "schema id %" PRId32 ": cannot build its reader: %s", w->id,
             avro_strerror());
        goto out;
    }
    w->reader_iface = avro_generic_class_from_schema(w->eff);
    if (!w->reader_iface ||
        avro_generic_value_new(w->reader_iface, &w->reader_value) != 0) {
        errf(err, errlen, "schema id %" PRId32 ": %s", w->id, avro_strerror());
        goto out;
    }
    /* Equal schemas (the usual case): the walk fills reader_value itself. */
    if (!avro_schema_equal(w->schema, w->eff)) {
        w->resolver = avro_resolved_writer_new(w->schema, w->eff);
        if (!w->resolver) {
            errf(err, errlen, "schema id %" PRId32 " (%s) cannot be read as %s: %s",
                 w->id, w->path, rec->fullname, avro_strerror());
            goto out;
        }
        if (avro_resolved_writer_new_value(w->resolver, &w->resolved) != 0) {
            errf(err, errlen, "schema id %" PRId32 ": %s", w->id, avro_strerror());
            goto out;
        }
        avro_resolved_writer_set_dest(&w->resolved, &w->reader_value);
    }

    size_t n = records_table[w->rec].n_fields;
    w->field_idx = calloc(n, sizeof(int));
    if (!w->field_idx) {
        errf(err, errlen, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        const char *name = records_table[w->rec].fields[i].name;
        w->field_idx[i] = avro_schema_record_field_get_index(w->eff, name);
        if (w->field_idx[i] < 0 && !rec->defaults[i].present) {
            errf(err, errlen, "schema id %" PRId32 " lacks field '%s'", w->id, name);
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
        errf(err, errlen, "out of memory");
        return -1;
    }
    for (int r = 0; r < REC_COUNT; r++)
        c->rec[r].current = -1;
    static char dummy[1];
    c->writer = avro_writer_memory(dummy, sizeof(dummy));
    if (!c->writer) {
        errf(err, errlen, "cannot create an Avro writer: %s", avro_strerror());
        goto out;
    }
    if (!schemas || !schemas->dir) {
        errf(err, errlen, "schemas.dir is not set");
        goto out;
    }

    /* Reader schemas. */
    for (int r = 0; r < REC_COUNT; r++) {
        struct record *rec = &c->rec[r];
        char path[4096];
        snprintf(rec->fullname, sizeof(rec->fullname), "%s.%s", CODEC_NAMESPACE,
                 records_table[r].record);
        snprintf(path, sizeof(path), "%s/%s.avsc", schemas->dir, records_table[r].schema);
        /* An input whose reader is absent stays unknown (codec_reads());
         * a folder of schemas copied before the record existed still
         * serves the others. */
        if (r < REC_INPUTS && access(path, F_OK) != 0 && errno == ENOENT)
            continue;
        if (load_schema(path, &rec->json, &rec->schema, err, errlen) < 0)
            goto out;
        rec->path = realpath(path, NULL);
        if (!rec->path) {
            errf(err, errlen, "%s: %s", path, strerror(errno));
            goto out;
        }
        char full[128];
        schema_fullname(rec->schema, full, sizeof(full));
        if (strcmp(full, rec->fullname) != 0) {
            errf(err, errlen, "%s: defines %s, expected %s", path, full, rec->fullname);
            goto out;
        }
        if (r < REC_INPUTS && record_prepare_input(rec, r, err, errlen) < 0)
            goto out;
    }

    /* Writer schemas, by id. */
    c->ws = calloc(schemas->ids.n ? schemas->ids.n : 1, sizeof(*c->ws));
    if (!c->ws) {
        errf(err, errlen, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < schemas->ids.n; i++) {
        const struct cfg_kv *kv = &schemas->ids.v[i];
        struct wschema *w = &c->ws[c->n_ws];
        if (parse_id(kv->key, &w->id) < 0) {
            errf(err, errlen, "schemas.ids: '%s' is not a schema id (0..2147483647)",
                 kv->key);
            goto out;
        }
        w->rec = -1;
        w->path = strdup(kv->value);
        c->n_ws++;
        if (!w->path) {
            errf(err, errlen, "out of memory");
            goto out;
        }
        if (load_schema(kv->value, &w->json, &w->schema, err, errlen) < 0)
            goto out;
        schema_fullname(w->schema, w->fullname, sizeof(w->fullname));
        w->rec = find_record(w->fullname);
        if (w->rec >= 0 && strncmp(w->fullname, CODEC_NAMESPACE ".",
                                   sizeof(CODEC_NAMESPACE)) != 0)
            w->rec = -1; /* same short name, another namespace: not ours */
        if (w->rec >= 0 && !c->rec[w->rec].schema) {
            errf(err, errlen, "schema id %" PRId32 " is %s, but %s/%s.avsc, "
                 "its reader schema, is missing", w->id, w->fullname,
                 schemas->dir, records_table[w->rec].schema);
            goto out;
        }
        w->iface = avro_generic_class_from_schema(w->schema);
        if (!w->iface || avro_generic_value_new(w->iface, &w->value) != 0) {
            errf(err, errlen, "schema id %" PRId32 ": %s", w->id, avro_strerror());
            goto out;
        }
    }
    qsort(c->ws, c->n_ws, sizeof(*c->ws), cmp_ws);
    for (size_t i = 1; i < c->n_ws; i++) {
        if (c->ws[i].id == c->ws[i - 1].id) {
            errf(err, errlen, "schemas.ids: id %" PRId32 " is given twice", c->ws[i].id);
            goto out;
        }
    }
    /* The current writer of a record is the id naming its reader file. */
    for (size_t i = 0; i < c->n_ws; i++) {
        struct wschema *w = &c->ws[i];
        if (w->rec >= 0 && same_file(c->rec[w->rec].path, w->path)) {
            if (c->rec[w->rec].current >= 0) {
                errf(err, errlen, "schemas.ids: ids %" PRId32 " and %" PRId32
                     " both name %s", c->ws[c->rec[w->rec].current].id, w->id,
                     c->rec[w->rec].path);
                goto out;
            }
            c->rec[w->rec].current = (int)i;
        }
        if (w->rec >= 0 && w->rec < REC_INPUTS && resolve_input(c, w, err, errlen) < 0)
            goto out;
    }
    /* An input without a writer id cannot be read (its messages go to the
     * DLQ as unknown_schema_id) but does not stop a config written before
     * the record existed; every output needs one to be written. */
    for (int r = REC_INPUTS; r < REC_COUNT; r++) {
        if (c->rec[r].current < 0) {
            errf(err, errlen, "schemas.ids: no id names %s (the schema of %s)",
                 c->rec[r].path, records_table[r].record);
            goto out;
        }
    }
    /* Alerts are written with each record's current schema. */
    for (int r = REC_INPUTS; r < REC_COUNT; r++)
        if (prepare_alert_writer(&c->ws[c->rec[r].current],
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

void codec_free(struct codec *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->n_ws; i++)
        wschema_free(&c->ws[i]);
    free(c->ws);
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
