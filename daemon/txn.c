/*
 * txn.c - the transactional producer calls of processing.guarantee:
 * exactly_once (txn.h). Blocking calls on the processing thread: a batch
 * is committed before the next one produces anything, so a transaction
 * holds exactly one batch.
 */
#include "txn.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>

#include "log.h"

#define TXN_ID_FILE "DEALSTREAM-TXN-ID"
#define TXN_RETRIES 10
#define TXN_CALL_MS 30000

struct txn {
    rd_kafka_t *rk;
    bool open; /* a transaction begun and not yet committed or aborted */
    struct txn_counts counts;
};

enum txn_outcome txn_classify(int retriable, int txn_requires_abort,
                              int fatal)
{
    if (fatal)
        return TXN_FATAL;
    if (txn_requires_abort)
        return TXN_ABORT;
    if (retriable)
        return TXN_RETRY;
    return TXN_FATAL; /* unexpected: nothing says it is safe to go on */
}

static enum txn_outcome outcome_of(rd_kafka_error_t *e, const char *what,
                                   char *err, size_t errlen)
{
    if (!e)
        return TXN_OK;
    enum txn_outcome o = txn_classify(rd_kafka_error_is_retriable(e),
                                      rd_kafka_error_txn_requires_abort(e),
                                      rd_kafka_error_is_fatal(e));
    snprintf(err, errlen, "%s: %s (%s)", what, rd_kafka_error_string(e),
             rd_kafka_error_name(e));
    rd_kafka_error_destroy(e);
    return o;
}

static int valid_hex16(const char *s)
{
    if (strlen(s) != 16)
        return 0;
    for (const char *c = s; *c; c++)
        if (!((*c >= '0' && *c <= '9') || (*c >= 'a' && *c <= 'f')))
            return 0;
    return 1;
}

int txn_id_for_dir(const char *dir, const char *group_id, char *out,
                   size_t len, char *err, size_t errlen)
{
    char path[4096], hex[32] = "";
    snprintf(path, sizeof(path), "%s/%s", dir, TXN_ID_FILE);
    FILE *f = fopen(path, "r");
    if (f) {
        if (!fgets(hex, sizeof(hex), f))
            hex[0] = 0;
        fclose(f);
        hex[strcspn(hex, "\r\n")] = 0;
        if (!valid_hex16(hex)) {
            snprintf(err, errlen, "%s: not a transactional id (16 hex "
                     "digits); remove it to make a new one", path);
            return -1;
        }
    } else if (errno != ENOENT) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    } else {
        uint64_t r = 0;
        int fd = open("/dev/urandom", O_RDONLY);
        if (fd < 0 || read(fd, &r, sizeof(r)) != (ssize_t)sizeof(r)) {
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            r = ((uint64_t)ts.tv_sec << 32) ^ (uint64_t)ts.tv_nsec ^
                ((uint64_t)getpid() << 16);
        }
        if (fd >= 0)
            close(fd);
        snprintf(hex, sizeof(hex), "%016" PRIx64, r);
        char tmp[4200];
        snprintf(tmp, sizeof(tmp), "%s.tmp", path);
        f = fopen(tmp, "w");
        if (!f || fprintf(f, "%s\n", hex) < 0 || fflush(f) != 0 ||
            fsync(fileno(f)) != 0) {
            snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
            if (f)
                fclose(f);
            return -1;
        }
        fclose(f);
        if (rename(tmp, path) != 0) {
            snprintf(err, errlen, "%s: %s", path, strerror(errno));
            return -1;
        }
    }
    if ((size_t)snprintf(out, len, "%s-%s", group_id, hex) >= len) {
        snprintf(err, errlen, "transactional id too long");
        return -1;
    }
    return 0;
}

static int begin(struct txn *t, char *err, size_t errlen)
{
    rd_kafka_error_t *e = rd_kafka_begin_transaction(t->rk);
    if (e) {
        outcome_of(e, "begin_transaction", err, errlen);
        return -1;
    }
    t->open = true;
    return 0;
}

int txn_open(struct kafka_producer *p, int timeout_ms, struct txn **out,
             char *err, size_t errlen)
{
    struct txn *t = calloc(1, sizeof(*t));
    if (!t) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    t->rk = kafka_producer_handle(p);
    enum txn_outcome o = TXN_RETRY;
    for (int i = 0; o == TXN_RETRY && i < TXN_RETRIES; i++)
        o = outcome_of(rd_kafka_init_transactions(t->rk, timeout_ms),
                       "init_transactions", err, errlen);
    if (o != TXN_OK || begin(t, err, errlen) != 0) {
        free(t);
        return -1;
    }
    *out = t;
    return 0;
}

static enum txn_outcome abort_open(struct txn *t, const char *why, char *err,
                                   size_t errlen)
{
    char aerr[256];
    enum txn_outcome o = TXN_RETRY;
    for (int i = 0; o == TXN_RETRY && i < TXN_RETRIES; i++)
        o = outcome_of(rd_kafka_abort_transaction(t->rk, TXN_CALL_MS),
                       "abort_transaction", aerr, sizeof(aerr));
    t->open = false;
    if (o != TXN_OK) {
        size_t l = strlen(err);
        snprintf(err + l, errlen - l, "; then %s", aerr);
        return TXN_FATAL;
    }
    t->counts.aborted++;
    LOG_ERR("txn", "transaction aborted (%s): none of its records is "
            "visible to read_committed consumers", why);
    return TXN_ABORT;
}

enum txn_outcome txn_commit(struct txn *t, struct kafka_consumer *consumer,
                            const struct txn_offset *offs, size_t n,
                            char *err, size_t errlen)
{
    enum txn_outcome o = TXN_OK;
    if (n) {
        rd_kafka_topic_partition_list_t *l =
            rd_kafka_topic_partition_list_new((int)n);
        for (size_t i = 0; i < n; i++)
            rd_kafka_topic_partition_list_add(l, offs[i].topic,
                                              offs[i].partition)
                ->offset = offs[i].next;
        rd_kafka_consumer_group_metadata_t *gm =
            rd_kafka_consumer_group_metadata(kafka_consumer_handle(consumer));
        o = TXN_RETRY;
        for (int i = 0; o == TXN_RETRY && i < TXN_RETRIES; i++)
            o = outcome_of(rd_kafka_send_offsets_to_transaction(
                               t->rk, l, gm, TXN_CALL_MS),
                           "send_offsets_to_transaction", err, errlen);
        rd_kafka_consumer_group_metadata_destroy(gm);
        rd_kafka_topic_partition_list_destroy(l);
    }
    if (o == TXN_OK) {
        o = TXN_RETRY;
        for (int i = 0; o == TXN_RETRY && i < TXN_RETRIES; i++)
            o = outcome_of(rd_kafka_commit_transaction(t->rk, TXN_CALL_MS),
                           "commit_transaction", err, errlen);
    }
    if (o == TXN_RETRY) /* retries exhausted: give the transaction up */
        o = TXN_ABORT;
    if (o == TXN_ABORT)
        return abort_open(t, err, err, errlen);
    if (o == TXN_FATAL) {
        t->open = false;
        return TXN_FATAL;
    }
    t->open = false;
    t->counts.committed++;
    return begin(t, err, errlen) == 0 ? TXN_OK : TXN_FATAL;
}

int txn_fatal(const struct txn *t, char *err, size_t errlen)
{
    char why[400];
    if (!t || rd_kafka_fatal_error(t->rk, why, sizeof(why)) ==
                  RD_KAFKA_RESP_ERR_NO_ERROR)
        return 0;
    snprintf(err, errlen, "fatal producer error: %s", why);
    return 1;
}

void txn_close(struct txn *t)
{
    if (!t)
        return;
    if (t->open) {
        rd_kafka_error_t *e = rd_kafka_abort_transaction(t->rk, 5000);
        if (e)
            rd_kafka_error_destroy(e);
    }
    free(t);
}

void txn_counts(const struct txn *t, struct txn_counts *out)
{
    *out = t ? t->counts : (struct txn_counts){0};
}
