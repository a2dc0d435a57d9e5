/*
 * state_bench.c - throughput of the state adapter, to tune its options.
 *
 * Not a test and not in ctest: numbers depend on the machine. Build and run
 * from the project root:
 *
 *   cc -O2 -std=c11 -D_GNU_SOURCE -Idaemon bench/state_bench.c \
 *      daemon/state.c daemon/log.c -lrocksdb -o /tmp/state_bench
 *   /tmp/state_bench [records] [value_bytes] [key_space] [write_buffer_mb]
 *                    [sync 0|1]
 *
 * It commits `records` puts in batches of 10,000 (each batch also carries
 * one offset, as the runtime's do) over `key_space` distinct keys chosen at
 * random, so most puts overwrite a key, then times random point gets of
 * present keys and a full scan. The dir is a fresh mkdtemp under /tmp,
 * removed at the end.
 */
#include "now.h"
#include "state.h"
#include "tmpdir.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define BATCH 10000

static uint64_t rng_next(uint64_t *s)
{
    /* xorshift64*: fast and reproducible, enough to scatter keys */
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * 2685821657736338717ull;
}

static int count_key(void *arg, const void *key, size_t klen, const void *val,
                     size_t vlen)
{
    (void)key;
    (void)klen;
    (void)val;
    (void)vlen;
    (*(uint64_t *)arg)++;
    return 0;
}

int main(int argc, char **argv)
{
    long records = argc > 1 ? atol(argv[1]) : 1000000;
    long vbytes = argc > 2 ? atol(argv[2]) : 200;
    long keyspace = argc > 3 ? atol(argv[3]) : 200000;
    long wbuf_mb = argc > 4 ? atol(argv[4]) : 64;
    int sync = argc > 5 ? atoi(argv[5]) : 0;
    if (records <= 0 || vbytes < 0 || keyspace <= 0 || wbuf_mb <= 0) {
        fprintf(stderr, "usage: %s [records] [value_bytes] [key_space] "
                        "[write_buffer_mb] [sync]\n",
                argv[0]);
        return 2;
    }

    char dir[64];
    if (tmpdir_make(dir, sizeof(dir), "state_bench") != 0) {
        perror("mkdtemp");
        return 1;
    }
    int rc = 1;
    char err[512];
    struct state *st = NULL;
    struct state_batch *b = state_batch_new();
    char *val = malloc((size_t)vbytes + 1);
    if (!val)
        goto out;
    for (long i = 0; i < vbytes; i++)
        val[i] = (char)('a' + i % 23); /* compressible, like Avro records */

    struct state_options opts = {.dir = dir,
                                 .block_cache_bytes = 256 << 20,
                                 .write_buffer_bytes = wbuf_mb << 20,
                                 .sync = sync != 0};
    if (state_open(&opts, &st, err, sizeof(err)) != 0) {
        fprintf(stderr, "%s\n", err);
        goto out;
    }

    uint64_t seed = 0x9e3779b97f4a7c15ull;
    char key[48];
    double worst = 0, t0 = now_mono_s();
    for (long done = 0; done < records;) {
        for (int i = 0; i < BATCH && done < records; i++, done++) {
            uint64_t k = rng_next(&seed) % (uint64_t)keyspace;
            int kl = snprintf(key, sizeof(key), "cust/%08llu/graph",
                              (unsigned long long)k);
            state_batch_put(b, key, (size_t)kl, val, (size_t)vbytes);
        }
        state_batch_offset(b, "sales.transcripts", 0, done);
        double c0 = now_mono_s();
        if (state_batch_commit(st, b, err, sizeof(err)) != 0) {
            fprintf(stderr, "%s\n", err);
            goto out;
        }
        double c = now_mono_s() - c0;
        if (c > worst)
            worst = c;
    }
    double put_s = now_mono_s() - t0;
    printf("puts: %ld records, %ld B values, %ld keys, write_buffer %ld MiB, "
           "sync %d: %.0f puts/s, %.1f ms/batch of %d avg, %.1f ms worst\n",
           records, vbytes, keyspace, wbuf_mb, sync, (double)records / put_s,
           put_s * 1000.0 / ((double)(records + BATCH - 1) / BATCH), BATCH,
           worst * 1000.0);

    if (state_flush(st, err, sizeof(err)) != 0) {
        fprintf(stderr, "%s\n", err);
        goto out;
    }
    printf("disk: %.1f MiB after flush\n",
           (double)state_disk_bytes(st) / (1 << 20));

    long gets = records < 500000 ? records : 500000, hits = 0;
    t0 = now_mono_s();
    for (long i = 0; i < gets; i++) {
        uint64_t k = rng_next(&seed) % (uint64_t)keyspace;
        int kl = snprintf(key, sizeof(key), "cust/%08llu/graph",
                          (unsigned long long)k);
        void *v = NULL;
        size_t vlen = 0;
        int g = state_get(st, key, (size_t)kl, &v, &vlen, err, sizeof(err));
        if (g < 0) {
            fprintf(stderr, "%s\n", err);
            goto out;
        }
        hits += g;
        free(v);
    }
    double get_s = now_mono_s() - t0;
    printf("gets: %ld random (%ld hits): %.0f gets/s\n", gets, hits,
           (double)gets / get_s);

    uint64_t n = 0;
    t0 = now_mono_s();
    if (state_scan(st, "cust/", 5, count_key, &n, err, sizeof(err)) != 0) {
        fprintf(stderr, "%s\n", err);
        goto out;
    }
    printf("scan: %llu keys: %.0f keys/s\n", (unsigned long long)n,
           (double)n / (now_mono_s() - t0));
    rc = 0;
out:
    state_batch_free(b);
    state_close(st);
    free(val);
    tmpdir_remove(dir);
    return rc;
}
