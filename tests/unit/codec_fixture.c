/*
 * codec_fixture.c - see codec_fixture.h.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "codec_fixture.h"
#include "tmpdir.h"

/* ------------------------------------------------------------------------
 * Fixture: a codec over the real schemas plus test writer versions.
 */



struct cfg_kv base_ids[N_BASE_IDS] = {
    {"1", SCHEMAS "/transcript_segment.avsc"},
    {"2", SCHEMAS "/document_annotation.avsc"},
    {"3", SCHEMAS "/iot_alert.avsc"},
    {"4", SCHEMAS "/registry_change.avsc"},
    {"5", SCHEMAS "/opportunity_update.avsc"},
    {"6", SCHEMAS "/lead_rerating.avsc"},
    {"7", SCHEMAS "/coaching_alert.avsc"},
    {"8", SCHEMAS "/meeting_summary.avsc"},
    {"20", SCHEMAS "/work_item.avsc"},
    {"101", FIXTURES "/transcript_segment_v2.avsc"},
    {"102", FIXTURES "/transcript_segment_v0.avsc"},
    {"103", FIXTURES "/transcript_segment_enum_reordered.avsc"},
    {"105", FIXTURES "/opportunity_update_v0.avsc"}, /* before device_line */
};

int open_codec(struct cfg_kv *ids, size_t n, struct codec **c, char *err,
               size_t errlen)
{
    struct config_schemas sc = {.ids = {.v = ids, .n = n}, .dir = SCHEMAS};
    return codec_open(&sc, c, err, errlen);
}

int setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));
    char err[512] = "";
    if (!f)
        return -1;
    if (open_codec(base_ids, sizeof(base_ids) / sizeof(base_ids[0]), &f->c, err,
                   sizeof(err)) != 0) {
        fprintf(stderr, "codec_open: %s\n", err);
        free(f);
        return -1;
    }
    f->a = arena_new(256); /* small: exercises chunk growth */
    buf_init(&f->b);
    *state = f;
    return 0;
}

int teardown(void **state)
{
    struct fx *f = *state;
    codec_free(f->c);
    arena_free(f->a);
    buf_free(&f->b);
    free(f);
    return 0;
}

/* JSON -> framed Avro (current writer id) into f->b; asserts success. */
void to_avro(struct fx *f, const char *record, const char *json)
{
    char err[256] = "";
    int rc = codec_json_to_avro(f->c, record, json, &f->b, err, sizeof(err));
    if (rc != 0)
        fail_msg("codec_json_to_avro(%s): %s", record, err);
}

int decode(struct fx *f, enum event_kind k, const char *key,
           const struct buf *val)
{
    arena_reset(f->a);
    memset(&f->ev, 0, sizeof(f->ev));
    memset(&f->e, 0, sizeof(f->e));
    return codec_decode_event(f->c, k, key, key ? strlen(key) : 0, val->data,
                              val->len, f->a, &f->ev, &f->e);
}

void expect_error(struct fx *f, enum event_kind k, const char *key,
                  const void *val, size_t vlen, const char *reason,
                  const char *needle)
{
    arena_reset(f->a);
    memset(&f->e, 0, sizeof(f->e));
    int rc = codec_decode_event(f->c, k, key, key ? strlen(key) : 0, val, vlen,
                                f->a, &f->ev, &f->e);
    assert_int_equal(rc, -1);
    assert_non_null(f->e.reason);
    if (strcmp(f->e.reason, reason) != 0)
        fail_msg("expected %s, got %s: %s", reason, f->e.reason, f->e.message);
    if (needle && !strstr(f->e.message, needle))
        fail_msg("message '%s' lacks '%s'", f->e.message, needle);
}

/* ------------------------------------------------------------------------
 * An independent Avro binary encoder for hand-built datums.
 */

void av_header(struct buf *b, int32_t id)
{
    buf_reset(b);
    uint8_t h[5] = {0, (uint8_t)(id >> 24), (uint8_t)(id >> 16), (uint8_t)(id >> 8),
                    (uint8_t)id};
    buf_append(b, h, 5);
}
void av_long(struct buf *b, int64_t v) { buf_put_i64(b, v); }
void av_bytes(struct buf *b, const char *s, size_t n)
{
    av_long(b, (int64_t)n);
    buf_append(b, s, n);
}
void av_str(struct buf *b, const char *s) { av_bytes(b, s, strlen(s)); }
void av_bool(struct buf *b, int v) { buf_put_u8(b, (uint8_t)v); }

/* A RegistryChange (id 4) of customer c1 up to its entity_type. */
void av_registry_head(struct buf *b, int64_t change_type,
                      int64_t entity_type)
{
    av_header(b, 4);
    av_str(b, "e");
    av_str(b, "c1");
    av_long(b, change_type);
    av_str(b, "x");
    av_long(b, entity_type);
}



/* A TranscriptSegment in the field order of the given writer version;
 * `text` is raw bytes so tests can put invalid UTF-8 in it. */
void av_transcript(struct buf *b, enum ts_variant v, const char *text,
                   size_t text_len, int64_t role_index)
{
    static const int32_t ids[] = {1, 101, 102, 103};
    av_header(b, ids[v]);
    av_str(b, "ev-1");
    av_str(b, "cust-1");
    av_str(b, "m-1");
    av_str(b, "rep-1");
    av_long(b, 3);          /* seq */
    av_str(b, "spk-2");
    av_long(b, role_index); /* speaker_role */
    av_long(b, 1000);       /* start_ms */
    av_long(b, 4500);       /* end_ms */
    if (v == TS_V2) {       /* sentiment: union branch 1 (double) */
        av_long(b, 1);
        buf_put_double(b, -0.25);
    }
    av_bytes(b, text, text_len);
    if (v != TS_V0) { /* phase: "closing" */
        av_long(b, 1);
        av_str(b, "closing");
    }
    av_bool(b, 1);                /* is_final */
    av_long(b, 1700000000123LL);  /* event_time */
    if (v != TS_V0) {             /* language: null */
        av_long(b, 0);
    }
    if (v == TS_V2) { /* tags: one block of 2, then the end */
        av_long(b, 2);
        av_str(b, "hot");
        av_str(b, "vip");
        av_long(b, 0);
    }
}


/* Copies src to dst, replacing the first `from` with `to`. */
void copy_replacing(const char *src, const char *dst, const char *from,
                    const char *to)
{
    FILE *in = fopen(src, "r");
    assert_non_null(in);
    char text[16384];
    size_t n = fread(text, 1, sizeof(text) - 1, in);
    fclose(in);
    text[n] = '\0';
    char *at = from ? strstr(text, from) : NULL;
    FILE *out = fopen(dst, "w");
    assert_non_null(out);
    if (at) {
        fwrite(text, 1, (size_t)(at - text), out);
        fputs(to, out);
        fputs(at + strlen(from), out);
    } else {
        fputs(text, out);
    }
    fclose(out);
}

/* Copies the shipped schemas into a fresh directory, replacing `from` with
 * `to` in the file of files[which]; ids 1..9 name them. */
const char *const schema_files[N_SCHEMAS] = {
    "transcript_segment", "document_annotation", "iot_alert",
    "registry_change",    "opportunity_update",  "lead_rerating",
    "coaching_alert",     "meeting_summary",     "work_item"};



/* The codec over the edited copy, or NULL with its error in err. */
struct codec *open_edited_err(struct schema_dir *d, size_t which,
                              const char *from, const char *to,
                              char *err, size_t errlen)
{
    char src[512];
    assert_int_equal(tmpdir_make(d->dir, sizeof(d->dir), "test_codec"), 0);
    for (size_t i = 0; i < N_SCHEMAS; i++) {
        snprintf(src, sizeof(src), "%s/%s.avsc", SCHEMAS, schema_files[i]);
        snprintf(d->path[i], sizeof(d->path[i]), "%s/%s.avsc", d->dir,
                 schema_files[i]);
        copy_replacing(src, d->path[i], i == which ? from : NULL, to);
        snprintf(d->id[i], sizeof(d->id[i]), "%zu", i + 1);
        d->ids[i] = (struct cfg_kv){d->id[i], d->path[i]};
    }
    struct config_schemas sc = {.ids = {.v = d->ids, .n = N_SCHEMAS},
                                .dir = d->dir};
    struct codec *c = NULL;
    return codec_open(&sc, &c, err, errlen) == 0 ? c : NULL;
}

struct codec *open_edited(struct schema_dir *d, size_t which,
                          const char *from, const char *to)
{
    char err[512] = "";
    struct codec *c = open_edited_err(d, which, from, to, err, sizeof(err));
    if (!c)
        fail_msg("codec_open: %s", err);
    return c;
}
