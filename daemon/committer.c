/*
 * committer.c - the RocksDB write thread (see committer.h).
 *
 * A ring of `depth` batch pointers between two counters: `submitted` is
 * advanced by the loop thread, `written` by the writer. Both are atomics so
 * the loop can check for progress per record without taking the mutex; the
 * mutex and condition variables are only for sleeping.
 */
#include "committer.h"
#include "now.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct committer {
    struct state *db;
    struct state_batch **ring; /* depth entries, indexed by count % depth */
    size_t depth;
    _Atomic uint64_t submitted;
    _Atomic uint64_t written;
    _Atomic bool failed; /* err is set before this becomes true */
    char err[512];
    bool stop;           /* under mu */
    pthread_mutex_t mu;
    pthread_cond_t work; /* submitted moved or stop */
    pthread_cond_t done; /* written moved or failed */
    pthread_t thread;
};

static void *writer_main(void *arg)
{
    struct committer *c = arg;
    /* Named for `top -H`, perf and gdb (15 bytes at most). */
    pthread_setname_np(pthread_self(), "ds-commit");
    state_thread_init();
    pthread_mutex_lock(&c->mu);
    for (;;) {
        uint64_t w = atomic_load(&c->written);
        while (!c->stop && atomic_load(&c->submitted) == w)
            pthread_cond_wait(&c->work, &c->mu);
        if (c->stop)
            break;
        struct state_batch *b = c->ring[w % c->depth];
        pthread_mutex_unlock(&c->mu);
        char err[sizeof(c->err)];
        int rc = state_batch_commit(c->db, b, err, sizeof(err));
        pthread_mutex_lock(&c->mu);
        if (rc != 0) {
            memcpy(c->err, err, sizeof(c->err));
            atomic_store(&c->failed, true);
            pthread_cond_broadcast(&c->done);
            break;
        }
        atomic_store(&c->written, w + 1);
        pthread_cond_broadcast(&c->done);
    }
    pthread_mutex_unlock(&c->mu);
    return NULL;
}

int committer_start(struct state *db, size_t depth, struct committer **out,
                    char *err, size_t errlen)
{
    struct committer *c = calloc(1, sizeof(*c));
    struct state_batch **ring = calloc(depth ? depth : 1, sizeof(*ring));
    if (!c || !ring) {
        free(c);
        free(ring);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    c->db = db;
    c->ring = ring;
    c->depth = depth ? depth : 1;
    pthread_mutex_init(&c->mu, NULL);
    pthread_cond_init(&c->work, NULL);
    /* CLOCK_MONOTONIC for the timed wait: a wall-clock step must not turn
     * a 50 ms wait into minutes. */
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&c->done, &ca);
    pthread_condattr_destroy(&ca);
    int rc = pthread_create(&c->thread, NULL, writer_main, c);
    if (rc != 0) {
        snprintf(err, errlen, "cannot start the commit thread: %s",
                 strerror(rc));
        pthread_cond_destroy(&c->done);
        pthread_cond_destroy(&c->work);
        pthread_mutex_destroy(&c->mu);
        free(ring);
        free(c);
        return -1;
    }
    *out = c;
    return 0;
}

void committer_stop(struct committer *c)
{
    if (!c)
        return;
    pthread_mutex_lock(&c->mu);
    c->stop = true;
    pthread_cond_signal(&c->work);
    pthread_mutex_unlock(&c->mu);
    pthread_join(c->thread, NULL);
    pthread_cond_destroy(&c->done);
    pthread_cond_destroy(&c->work);
    pthread_mutex_destroy(&c->mu);
    free(c->ring);
    free(c);
}

void committer_submit(struct committer *c, struct state_batch *b)
{
    pthread_mutex_lock(&c->mu);
    uint64_t s = atomic_load(&c->submitted);
    if (s - atomic_load(&c->written) >= c->depth) {
        fputs("dealstream: committer: more batches submitted than its depth\n",
              stderr);
        abort();
    }
    c->ring[s % c->depth] = b;
    atomic_store(&c->submitted, s + 1);
    pthread_cond_signal(&c->work);
    pthread_mutex_unlock(&c->mu);
}

int committer_written(struct committer *c, uint64_t *written, char *err,
                      size_t errlen)
{
    if (atomic_load(&c->failed)) {
        snprintf(err, errlen, "%s", c->err);
        return -1;
    }
    *written = atomic_load(&c->written);
    return 0;
}

void committer_wait(struct committer *c, uint64_t seen, int timeout_ms)
{
    struct timespec until;
    clock_gettime(CLOCK_MONOTONIC, &until);
    until.tv_sec += timeout_ms / 1000;
    until.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&c->mu);
    while (atomic_load(&c->written) <= seen && !atomic_load(&c->failed) &&
           pthread_cond_timedwait(&c->done, &c->mu, &until) == 0)
        ;
    pthread_mutex_unlock(&c->mu);
}

int64_t committer_cpu_ms(struct committer *c)
{
    return now_cpu_ms_of(c->thread);
}
