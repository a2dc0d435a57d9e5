/*
 * codec_fixture.h - what the codec's two test files share: a codec over the
 * shipped schemas plus test writer versions, an independent little Avro
 * encoder for hand-built datums, and copies of the schemas with one edit.
 */
#ifndef DS_CODEC_FIXTURE_H
#define DS_CODEC_FIXTURE_H

#include <stddef.h>
#include <stdint.h>

#include "arena.h"
#include "buf.h"
#include "codec.h"

#define SCHEMAS DS_SOURCE_DIR "/schemas"
#define FIXTURES DS_SOURCE_DIR "/tests/unit/data/codec"
#define N_BASE_IDS 13
#define N_SCHEMAS 9

struct fx {
    struct codec *c;
    struct arena *a;
    struct buf b;
    struct event ev;
    struct codec_error e;
};

enum ts_variant { TS_V1, TS_V2, TS_V0, TS_REORDERED };

struct schema_dir {
    char dir[64], path[N_SCHEMAS][512], id[N_SCHEMAS][4];
    struct cfg_kv ids[N_SCHEMAS];
};

/* Ids 1-8: the shipped schemas; 101-103: test writer versions. */
extern struct cfg_kv base_ids[N_BASE_IDS];
/* The shipped schemas' files, in id order (1..8). */
extern const char *const schema_files[N_SCHEMAS];

int open_codec(struct cfg_kv *ids, size_t n, struct codec **c, char *err,
               size_t errlen);

int setup(void **state);

int teardown(void **state);

/* JSON -> framed Avro (current writer id) into f->b; asserts success. */
void to_avro(struct fx *f, const char *record, const char *json);

int decode(struct fx *f, enum event_kind k, const char *key,
           const struct buf *val);

void expect_error(struct fx *f, enum event_kind k, const char *key,
                  const void *val, size_t vlen, const char *reason,
                  const char *needle);

void av_header(struct buf *b, int32_t id);

void av_long(struct buf *b, int64_t v);

void av_bytes(struct buf *b, const char *s, size_t n);

void av_str(struct buf *b, const char *s);

void av_bool(struct buf *b, int v);

/* A RegistryChange (id 4) of customer c1 up to its entity_type. */
void av_registry_head(struct buf *b, int64_t change_type,
                      int64_t entity_type);

/* A TranscriptSegment in the field order of the given writer version;
 * `text` is raw bytes so tests can put invalid UTF-8 in it. */
void av_transcript(struct buf *b, enum ts_variant v, const char *text,
                   size_t text_len, int64_t role_index);

/* Copies src to dst, replacing the first `from` with `to`. */
void copy_replacing(const char *src, const char *dst, const char *from,
                    const char *to);

/* The codec over the edited copy, or NULL with its error in err. */
struct codec *open_edited_err(struct schema_dir *d, size_t which,
                              const char *from, const char *to,
                              char *err, size_t errlen);

struct codec *open_edited(struct schema_dir *d, size_t which,
                          const char *from, const char *to);

#endif
