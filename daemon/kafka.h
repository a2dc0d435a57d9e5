/*
 * kafka.h - the librdkafka adapter: a group consumer that resumes from the
 * offsets stored with the state, an idempotent producer that reports
 * deliveries, and the development broker (librdkafka's mock cluster).
 */
#ifndef DS_KAFKA_H
#define DS_KAFKA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"

struct kafka_consumer;
struct kafka_producer;
struct kafka_mock;

/* One consumed record; valid until kafka_msg_release(). */
struct kafka_msg {
    const char *topic;
    int32_t partition;
    int64_t offset;
    const void *key;
    size_t klen;
    const void *value;
    size_t vlen;
    int64_t timestamp; /* ms since epoch, -1 if none */
    void *opaque;      /* the librdkafka message */
};

struct kafka_header {
    const char *name;
    const char *value; /* NUL-terminated */
};

/*
 * Called from inside kafka_consumer_poll() around a rebalance.
 * stored_offset: 1 and *next when the state holds an offset for the
 * partition, 0 when it does not (the partition then starts at the earliest
 * record), -1 on error: then the assignment is refused and the next
 * kafka_consumer_poll() fails, since starting from the earliest record
 * would apply every event a second time; KAFKA_OFFSET_HELD: assign it
 * paused, kafka_consumer_release() starts it. A stored offset past the
 * partition's log end (topic recreated, unclean leader election) is
 * refused the same way rather than reset. before_revoke: the runtime
 * commits what it has applied before partitions leave this instance;
 * `partitions` are the distinct partition numbers leaving. assigned: after
 * the assignment is taken (kafka_consumer_owns() answers for it), with the
 * distinct partition numbers it added.
 */
/* stored_offset's answer for a partition whose state is being restored:
 * assigned but paused, until kafka_consumer_release(). */
#define KAFKA_OFFSET_HELD 2

struct kafka_rebalance_ops {
    int (*stored_offset)(void *arg, const char *topic, int32_t partition,
                         int64_t *next);
    void (*before_revoke)(void *arg, const int32_t *partitions, size_t n);
    void (*assigned)(void *arg, size_t n_partitions, const int32_t *added,
                     size_t n_added);
    void *arg;
};

struct kafka_consumer_opts {
    const char *brokers;
    const char *group_id;
    const struct cfg_strmap *properties; /* optional pass-through */
    /* Co-partitioned inputs: every assignment must hold partition p of all
     * of them or of none (else the consumer refuses it). Must outlive the
     * consumer. */
    const char *const *topics;
    size_t n_topics;
    struct kafka_rebalance_ops rebalance;
    /* Bytes fetched and not yet taken, all partitions (prefetch.h); 0:
     * the library's bounds as the properties set them. */
    uint64_t prefetch_budget;
};

int kafka_consumer_new(const struct kafka_consumer_opts *opts,
                       struct kafka_consumer **out, char *err, size_t errlen);
/* 1 with *m filled, 0 when nothing arrived within timeout_ms, -1 on a fatal
 * consumer error (message in err). Transient errors are logged, not
 * returned. */
int kafka_consumer_poll(struct kafka_consumer *c, int timeout_ms,
                        struct kafka_msg *m, char *err, size_t errlen);
void kafka_msg_release(struct kafka_msg *m);
/* Hands applied offsets to librdkafka's auto-commit (lag monitoring only:
 * the authoritative offsets live with the state). */
void kafka_consumer_store_offset(struct kafka_consumer *c, const char *topic,
                                 int32_t partition, int64_t next_offset);
/* Leaves the group cleanly (runs the revoke callback). Accepts NULL. */
void kafka_consumer_close(struct kafka_consumer *c);
/* Partition p of every input, held since its assignment (stored_offset
 * said KAFKA_OFFSET_HELD): stored_offset is asked again, the consumer
 * seeks there and resumes. 0; 1 with err: not yet (the seek did not
 * finish: poll, which may revoke the partition, then ask again); -1 with
 * err (an offset refused as in a rebalance: the partition must not be
 * consumed). Nothing held: 0. */
int kafka_consumer_release(struct kafka_consumer *c, int32_t partition,
                           char *err, size_t errlen);
size_t kafka_consumer_assigned(const struct kafka_consumer *c);
/* Whether topic/partition is assigned to this consumer now. */
bool kafka_consumer_owns(const struct kafka_consumer *c, const char *topic,
                         int32_t partition);

/* How a message failed, in kafka_produce()'s return and on_delivery's
 * `failed`. REJECTED: this message can never be produced as it is (larger
 * than message.max.bytes, refused as an invalid record); retrying it is
 * useless, but other messages are not affected. FAILED: anything else
 * (timed out after librdkafka's own retries, topic unknown or not
 * authorized, a fatal producer error), which a restart may cure. */
enum kafka_fail { KAFKA_DELIVERED = 0, KAFKA_FAILED = 1, KAFKA_REJECTED = 2 };

struct kafka_producer_opts {
    const char *brokers;
    const struct cfg_strmap *properties; /* optional */
    /* Called from kafka_producer_poll() per delivered or failed message,
     * with the tag that was current when the message was produced; m is
     * the message (topic, key, value; offset and partition as reported),
     * valid during the call. The callback may produce; a full queue then
     * fails the produce (KAFKA_FAILED) instead of waiting. */
    void (*on_delivery)(void *arg, uint64_t tag, enum kafka_fail failed,
                        const char *errstr, const struct kafka_msg *m);
    void *arg;
    /* Non-NULL: a transactional producer with this transactional.id
     * (processing.guarantee: exactly_once, txn.h drives it); with
     * transaction_timeout_ms > 0 as transaction.timeout.ms. */
    const char *transactional_id;
    int transaction_timeout_ms;
};

int kafka_producer_new(const struct kafka_producer_opts *opts,
                       struct kafka_producer **out, char *err, size_t errlen);
/* Copies key, value and headers. 0, or -KAFKA_FAILED / -KAFKA_REJECTED
 * (see enum kafka_fail) with err; queue full is retried internally while
 * serving delivery reports. One thread at a time (the producer keeps a
 * handle per topic). */
int kafka_produce(struct kafka_producer *p, const char *topic,
                  const void *key, size_t klen, const void *val, size_t vlen,
                  const struct kafka_header *hdrs, size_t n_hdrs, char *err,
                  size_t errlen);
/* Messages produced from now on carry `tag` to their delivery report (the
 * runtime tags each with the batch that caused it). Starts at 0. */
/* kafka_produce() to an explicit partition (the changelog, whose records
 * must land on the partition of the input their state belongs to). `val`
 * NULL is a tombstone (null value) for compacted topics. */
int kafka_produce_to(struct kafka_producer *p, const char *topic,
                     int32_t partition, const void *key, size_t klen,
                     const void *val, size_t vlen,
                     const struct kafka_header *hdrs, size_t n_hdrs,
                     char *err, size_t errlen);
/* The partition count of `topic` from the producer's metadata: > 0, or -1
 * with err (unknown topic, no answer within timeout_ms). */
int kafka_producer_partitions(struct kafka_producer *p, const char *topic,
                              int timeout_ms, char *err, size_t errlen);
/* The partition librdkafka's partitioner `name` (the `partitioner`
 * property: consistent, consistent_random, murmur2, murmur2_random, fnv1a,
 * fnv1a_random) picks for a non-empty key among `cnt` partitions; -1 for
 * an unknown name or "random", which no key determines. */
int32_t kafka_partition_of(const char *name, const void *key, size_t klen,
                           int32_t cnt);
/* Learns the leaders of `topics` now, waiting up to timeout_ms in all, so
 * the first message to each does not wait for a metadata round trip (the
 * first alerts after a start waited ~0.5 s for it). 0 when all are known,
 * -1 with a message in err otherwise (not fatal: produce still learns them
 * on first use). */
int kafka_producer_warm(struct kafka_producer *p, const char *const *topics,
                        size_t n, int timeout_ms, char *err, size_t errlen);
void kafka_producer_set_tag(struct kafka_producer *p, uint64_t tag);
uint64_t kafka_producer_tag(const struct kafka_producer *p);
/* The producer's message.max.bytes: the most a message (key, value,
 * headers and framing) may weigh. */
int64_t kafka_producer_max_message(const struct kafka_producer *p);
/* Serves delivery reports; returns the number served. */
int kafka_producer_poll(struct kafka_producer *p, int timeout_ms);
/* Messages produced but not yet delivered or failed. */
int kafka_producer_inflight(const struct kafka_producer *p);
/* Waits up to timeout_ms for every message; 0 when all are out. */
int kafka_producer_flush(struct kafka_producer *p, int timeout_ms);
void kafka_producer_free(struct kafka_producer *p); /* flushes; accepts NULL */

/* The development broker: `brokers` mock brokers on loopback with `topics`
 * created with `partitions` partitions each. */
int kafka_mock_start(int brokers, const char *const *topics, size_t n_topics,
                     int partitions, struct kafka_mock **out, char *err,
                     size_t errlen);
const char *kafka_mock_bootstrap(const struct kafka_mock *m);
void kafka_mock_stop(struct kafka_mock *m); /* accepts NULL */

/* Whether the broker holds records of topic/partition that this consumer
 * has not returned yet: its position against the high watermark cached
 * from the last fetch (no broker round trip). 1 behind, 0 caught up, -1
 * when it cannot tell (nothing fetched or consumed since assignment). */
int kafka_consumer_behind(struct kafka_consumer *c, const char *topic,
                          int32_t partition);

/* The librdkafka handles (rd_kafka_t *), for txn.c's transaction calls,
 * which need the producer and the consumer's group metadata together. */
void *kafka_producer_handle(struct kafka_producer *p);
void *kafka_consumer_handle(struct kafka_consumer *c);
/* The consumer's position in topic/partition (the next offset it will
 * return, past transaction markers and aborted records it skipped), or
 * -1 when it has none yet. */
int64_t kafka_consumer_position(struct kafka_consumer *c, const char *topic,
                                int32_t partition);

/* Reads a whole partition range for tools: the low and high watermarks. */
int kafka_consumer_watermarks(struct kafka_consumer *c, const char *topic,
                              int32_t partition, int64_t *low, int64_t *high,
                              int timeout_ms);
/* Calls fn with the lag (records between the position and the high
 * watermark) of every assigned partition whose position and watermark
 * the client knows, from what the fetches already brought: no request to
 * the broker. */
void kafka_consumer_lag(struct kafka_consumer *c,
                        void (*fn)(void *arg, const char *topic,
                                   int32_t partition, int64_t lag),
                        void *arg);

/* Plain assignment (no group) for tools: every partition of `topic` from
 * the beginning or the end. */
int kafka_consumer_new_reader(const char *brokers,
                              const struct cfg_strmap *properties,
                              const char *topic, bool from_beginning,
                              struct kafka_consumer **out, char *err,
                              size_t errlen);

/* Plain assignment (no group) of one partition from `offset`, for the
 * restore of state from a changelog; reads committed records only. */
int kafka_consumer_new_partition(const char *brokers,
                                 const struct cfg_strmap *properties,
                                 const char *topic, int32_t partition,
                                 int64_t offset, struct kafka_consumer **out,
                                 char *err, size_t errlen);
/* The admin client: topics looked up and created the way production does,
 * through the admin API. */
struct kafka_admin;

struct kafka_topic_spec {
    const char *name;
    int32_t partitions;
    int16_t replication_factor;         /* -1: the broker's default */
    const struct cfg_strmap *configs;   /* optional topic configs */
    bool compact;                       /* state: cleanup.policy=compact */
};

int kafka_admin_new(const char *brokers, const struct cfg_strmap *properties,
                    struct kafka_admin **out, char *err, size_t errlen);
void kafka_admin_free(struct kafka_admin *a); /* accepts NULL */
/* The partition count of `topic`, 0 when it does not exist, -1 with err on
 * any other failure. Never asks for it to be created; but librdkafka's
 * mock (dev-kafka) makes any topic a request names, with 4 partitions,
 * which is why dev-kafka takes --topic. */
int kafka_admin_partitions(struct kafka_admin *a, const char *topic,
                           int timeout_ms, char *err, size_t errlen);
/* Creates the topics in one request; one that exists already (created by a
 * peer meanwhile) is not an error. 0, or -1 with err. */
int kafka_admin_create(struct kafka_admin *a,
                       const struct kafka_topic_spec *specs, size_t n,
                       int timeout_ms, char *err, size_t errlen);

/* Reads header `name` of a consumed message into buf; 0 or -1 if absent. */
int kafka_msg_header(const struct kafka_msg *m, size_t idx, const char **name,
                     const void **val, size_t *len);

#endif
