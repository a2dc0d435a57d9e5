/*
 * changelog.h - every state change also to a compacted Kafka topic, so a
 * partition's state can be rebuilt on an instance whose disk lacks it
 * (restore.h reads it back; docs/STATE.md has the whole story).
 *
 * A closed batch, once encoded, is sent record by record: key = the state
 * key as RocksDB holds it, value = the encoded object or a tombstone, to
 * the changelog partition of the input partition the state belongs to.
 * Then, per partition the batch touched, a commit marker (key
 * CHANGELOG_MARKER_KEY) whose value names the input offsets the
 * partition's state reflects once the batch is applied ("topic:next,
 * topic:next", cumulative, so the one marker compaction keeps says
 * everything; the partition group's watermark rides in the same text as
 * the entry CHANGELOG_WATERMARK_ENTRY, a name no Kafka topic can have).
 * Only markers carry headers: the batch id (CHANGELOG_HDR_BATCH, unique
 * across instances and restarts) and the same offsets text
 * (CHANGELOG_HDR_OFFSETS), for tools. The marker's offset + 1 is
 * the changelog position checkpointed with the batch in RocksDB (an
 * offset entry under the changelog topic's name).
 */
#ifndef DS_CHANGELOG_H
#define DS_CHANGELOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "kafka.h"
#include "state.h"

#define CHANGELOG_MARKER_KEY "ds.commit" /* no '/': never a state key */
#define CHANGELOG_HDR_BATCH "ds.batch"
#define CHANGELOG_HDR_OFFSETS "ds.offsets"
/* The watermark's entry in the offsets text: '@' is not legal in a topic
 * name. Value: ms since epoch. */
#define CHANGELOG_WATERMARK_ENTRY "@watermark"
/* The delivery tag of records that belong to no batch (restore's repair). */
#define CHANGELOG_TAG_REPAIR UINT64_MAX

struct changelog;

/* The topic name: `configured`, or "<group>-state-changelog" when it is
 * empty. 0, or -1 when it does not fit in n. */
int changelog_topic_name(const char *group, const char *configured, char *out,
                         size_t n);

/* The changelog partition of a state key as RocksDB holds it
 * ("<processor>/<record key>[/...]"): the partition `partitioner` picks for
 * the record key among `partitions`, the one its input records are on.
 * -1 for keys that are not logged (quarantine/...) or unknown names. */
int32_t changelog_partition_of(const char *partitioner, int32_t partitions,
                               const void *key, size_t klen);

/* A record key the partitioner puts in `partition` among `partitions`:
 * "~p<partition>.<salt>" with the smallest salt that lands there (see
 * ctx_partition_key()). 0, or -1 when none fits in n bytes. */
int changelog_partition_key(const char *partitioner, int32_t partitions,
                            int32_t partition, char *out, size_t n);

/* Appends "topic:next" to the offsets text `out` (NUL-terminated, n bytes
 * in all), keeping one entry per topic; 0, or -1 when it does not fit. */
int changelog_offsets_set(char *out, size_t n, const char *topic,
                          int64_t next);
/* Calls fn for each entry of an offsets text; 0, or -1 when malformed. */
int changelog_offsets_each(const char *text,
                           void (*fn)(void *arg, const char *topic,
                                      int64_t next),
                           void *arg);

/* `producer` must outlive the changelog; the strings are copied. 0 and
 * *out, or -1 with err (a partitioner that no key determines). */
int changelog_new(struct kafka_producer *producer, const char *topic,
                  int32_t partitions, const char *partitioner,
                  struct changelog **out, char *err, size_t errlen);
/* changelog_new() for the daemon: the topic named by the config, its
 * partition count read back and checked against `input` (partition p of
 * the changelog holds the state of partition p of the inputs), the
 * partitioner of kafka.properties. 0 and *out, or -1 with err. */
int changelog_open(const struct config *cfg, struct kafka_producer *producer,
                   const char *input, struct changelog **out, char *err,
                   size_t errlen);
void changelog_free(struct changelog *cl); /* accepts NULL */
const char *changelog_topic(const struct changelog *cl);
int32_t changelog_partitions(const struct changelog *cl);
const char *changelog_partitioner(const struct changelog *cl);

/* What the state of `partition` reflects of `topic` now (read with the
 * state at assignment): the markers carry it on. */
void changelog_seed(struct changelog *cl, const char *topic,
                    int32_t partition, int64_t next);
/* The same for the partition group's watermark (ms since epoch, >= 0). */
void changelog_seed_watermark(struct changelog *cl, int32_t partition,
                              int64_t wm);
/* Produces batch `b` (puts, deletes, input offsets, watermarks) under the
 * producer's current tag, in steps of at most `max` state records, so a
 * big write-back checkpoint is not one long pause of the loop (SIZE_MAX:
 * all at once): *next (0 at the start)
 * is where the next step begins, *done is set with the last step, which
 * also produces the markers. Steps of one batch must end before another
 * batch's start (the records' offsets headers and the markers follow the
 * batch in order). Returns the messages produced by this step, or -1 with
 * err (the batch must then not be committed). */
int changelog_send_step(struct changelog *cl, uint64_t batch,
                        const struct state_batch *b, size_t *next, size_t max,
                        bool *done, char *err, size_t errlen);
/* Produces a repair (restore.c): the current value of each key (NULL:
 * tombstone) and a marker, tagged CHANGELOG_TAG_REPAIR, and waits for all
 * of it. 0, or -1 with err. */
int changelog_repair(struct changelog *cl, int32_t partition,
                     const char *const *keys, const size_t *klens,
                     const void *const *vals, const size_t *vlens, size_t n,
                     int timeout_ms, char *err, size_t errlen);
/* From the producer's delivery report of a changelog message. */
void changelog_delivered(struct changelog *cl, uint64_t tag, bool ok,
                         const struct kafka_msg *m);
/* Adds the positions of batch `batch`'s delivered markers to `b` (the
 * checkpoint written with it). */
void changelog_checkpoint(struct changelog *cl, uint64_t batch,
                          struct state_batch *b);

#endif
