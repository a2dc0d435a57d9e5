/*
 * reload_req.c - POST /-/reload: the HTTP thread asks the processing loop
 * for a reload and waits for its answer (reload.h). Apart from reload.c
 * so that the HTTP adapter links without the config and codec.
 */
#include "reload.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

const char *reload_result_name(enum reload_result r)
{
    switch (r) {
    case RELOAD_OK: return "ok";
    case RELOAD_ERROR: return "error";
    case RELOAD_REFUSED: return "refused";
    }
    return "error";
}

void reload_req_init(struct reload_req *r)
{
    memset(r, 0, sizeof(*r));
    pthread_mutex_init(&r->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&r->cv, &ca);
    pthread_condattr_destroy(&ca);
}

void reload_req_destroy(struct reload_req *r)
{
    pthread_cond_destroy(&r->cv);
    pthread_mutex_destroy(&r->mu);
}

bool reload_req_pending(struct reload_req *r)
{
    if (!r)
        return false;
    /* done is written by this thread only (reload_req_finish); asked
     * by the HTTP thread, read atomically. */
    return __atomic_load_n(&r->asked, __ATOMIC_ACQUIRE) !=
           __atomic_load_n(&r->done, __ATOMIC_RELAXED);
}

uint64_t reload_req_take(struct reload_req *r)
{
    return r ? __atomic_load_n(&r->asked, __ATOMIC_ACQUIRE) : 0;
}

void reload_req_finish(struct reload_req *r, uint64_t upto,
                       enum reload_result result, const char *msg)
{
    if (!r || upto <= r->done)
        return;
    pthread_mutex_lock(&r->mu);
    r->result = result;
    snprintf(r->msg, sizeof(r->msg), "%s", msg);
    __atomic_store_n(&r->done, upto, __ATOMIC_RELEASE);
    pthread_cond_broadcast(&r->cv);
    pthread_mutex_unlock(&r->mu);
}

void reload_req_close(struct reload_req *r)
{
    if (!r)
        return;
    pthread_mutex_lock(&r->mu);
    r->closed = true;
    r->result = RELOAD_ERROR;
    snprintf(r->msg, sizeof(r->msg), "the daemon is stopping; not reloaded");
    __atomic_store_n(&r->done, r->asked, __ATOMIC_RELEASE);
    pthread_cond_broadcast(&r->cv);
    pthread_mutex_unlock(&r->mu);
}

int reload_req_run(struct reload_req *r, int64_t timeout_ms,
                   enum reload_result *result, char *msg, size_t msglen)
{
    struct timespec until;
    clock_gettime(CLOCK_MONOTONIC, &until);
    until.tv_sec += timeout_ms / 1000;
    until.tv_nsec += (timeout_ms % 1000) * 1000000;
    if (until.tv_nsec >= 1000000000) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000;
    }
    int rc = 0;
    pthread_mutex_lock(&r->mu);
    uint64_t ticket = __atomic_add_fetch(&r->asked, 1, __ATOMIC_ACQ_REL);
    if (r->closed) /* answered as the close did */
        __atomic_store_n(&r->done, ticket, __ATOMIC_RELEASE);
    while (r->done < ticket) {
        if (pthread_cond_timedwait(&r->cv, &r->mu, &until) == ETIMEDOUT &&
            r->done < ticket) {
            rc = -1;
            break;
        }
    }
    if (rc == 0) {
        *result = r->result;
        snprintf(msg, msglen, "%s", r->msg);
    }
    pthread_mutex_unlock(&r->mu);
    return rc;
}
