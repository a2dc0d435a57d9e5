/*
 * pct.h - the percentiles of the bench's latency figures, one rank rule
 * for gen's `latency` (the daemon's alerts) and rawpoll's floor, so the
 * two compare like for like. Header-only: rawpoll links nothing of ours.
 */
#ifndef DS_BENCH_PCT_H
#define DS_BENCH_PCT_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

static inline int pct_cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

static inline void pct_sort(int64_t *v, size_t n)
{
    if (n)
        qsort(v, n, sizeof(*v), pct_cmp_i64);
}

/* v sorted ascending: the value of rank ceil(p * n) (nearest rank); 0 for
 * none. */
static inline double pct_of(const int64_t *v, size_t n, double p)
{
    if (n == 0)
        return 0;
    size_t i = (size_t)ceil(p * (double)n);
    return (double)v[(i == 0 ? 1 : i > n ? n : i) - 1];
}

#endif
