/*
 * txn.h - processing.guarantee: exactly_once. One Kafka transaction per
 * closed batch on the runtime's producer: the batch's alerts, DLQ records,
 * repartition records, changelog records and markers, and its input
 * offsets (send_offsets_to_transaction with the consumer's group metadata,
 * KIP-447) are committed together or not at all. Local RocksDB is written
 * only after the commit, so it is never ahead of what Kafka holds; a
 * restart brings it up to the last committed transaction from the
 * changelog (restore.c). docs/STATE.md, "Exactly once".
 */
#ifndef DS_TXN_H
#define DS_TXN_H

#include <stddef.h>
#include <stdint.h>

#include "kafka.h"

struct txn;

/* What a failed transaction call means, from librdkafka's error flags. */
enum txn_outcome {
    TXN_OK = 0,
    TXN_RETRY = 1,  /* retriable: the same call again */
    TXN_ABORT = 2,  /* abortable: abort, nothing of it is visible */
    TXN_FATAL = 3,  /* fatal or fenced: the producer is unusable */
};

enum txn_outcome txn_classify(int retriable, int txn_requires_abort,
                              int fatal);

/* The transactional.id of the instance owning state dir `dir`:
 * "<group_id>-<16 hex>", the hex read from <dir>/DEALSTREAM-TXN-ID, made
 * (random) and stored there on first use. Stable across restarts of the
 * instance with that disk, so the next incarnation's init_transactions
 * fences the previous one and aborts its open transaction; distinct per
 * disk, so instances never fence each other. 0, or -1 with err. */
int txn_id_for_dir(const char *dir, const char *group_id, char *out,
                   size_t len, char *err, size_t errlen);

/* init_transactions (fences a previous incarnation, aborts what it left
 * open) and begins the first transaction. 0, or -1 with err. */
int txn_open(struct kafka_producer *p, int timeout_ms, struct txn **out,
             char *err, size_t errlen);

struct txn_offset {
    const char *topic;
    int32_t partition;
    int64_t next;
};

/* Sends offsets (may be n = 0) with the group metadata of `consumer`,
 * commits, and begins the next transaction. The batch's messages must
 * all be acknowledged already. TXN_OK; TXN_ABORT after the transaction
 * was aborted (nothing of it visible; no next one is begun); TXN_FATAL
 * when the producer is fenced or failed. err says what. */
enum txn_outcome txn_commit(struct txn *t, struct kafka_consumer *consumer,
                            const struct txn_offset *offs, size_t n,
                            char *err, size_t errlen);

/* 1 with the reason in err when the producer has failed fatally (fenced
 * by a newer incarnation, ...), else 0. */
int txn_fatal(const struct txn *t, char *err, size_t errlen);

/* Aborts the open transaction if any (best effort) and frees. NULL ok. */
void txn_close(struct txn *t);

/* Counters for the logs and /metrics. */
struct txn_counts {
    uint64_t committed, aborted;
};
void txn_counts(const struct txn *t, struct txn_counts *out);

#endif
