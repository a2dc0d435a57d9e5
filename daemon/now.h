/*
 * now.h - the clocks, read one way everywhere.
 *
 * Monotonic for durations and deadlines (immune to wall-clock steps), the
 * wall clock only where a time leaves the process (alert timestamps,
 * spans compared across processes), the calling thread's CPU clock for
 * what one thread spent. Header-only one-liners used by the daemon and the
 * bench tools alike.
 */
#ifndef DS_NOW_H
#define DS_NOW_H

#include <pthread.h>
#include <stdint.h>
#include <time.h>

/* A clock in ms; -1 if it cannot be read. */
static inline int64_t now_clock_ms(clockid_t id)
{
    struct timespec ts;
    if (clock_gettime(id, &ts) != 0)
        return -1;
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static inline int64_t now_mono_ms(void) { return now_clock_ms(CLOCK_MONOTONIC); }

static inline int64_t now_wall_ms(void) { return now_clock_ms(CLOCK_REALTIME); }

static inline double now_mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* CPU time of the calling thread (a system call, not vDSO: not per record). */
static inline int64_t now_thread_cpu_ms(void)
{
    return now_clock_ms(CLOCK_THREAD_CPUTIME_ID);
}

/* CPU time of another live thread of this process; -1 if unknown. */
static inline int64_t now_cpu_ms_of(pthread_t t)
{
    clockid_t id;
    return pthread_getcpuclockid(t, &id) == 0 ? now_clock_ms(id) : -1;
}

#endif
