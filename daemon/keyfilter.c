/*
 * keyfilter.c - blocked Bloom filter: 512-bit blocks, 7 bits per key.
 *
 * One 64-bit hash picks the block (multiply-shift, no modulo); a second,
 * mixed from the first, gives the 7 bit positions as 9-bit slices. Words
 * are atomic so the sealing thread and a start-up scan can add while the
 * processing thread probes; relaxed order is enough, since callers order a
 * key's add before any probe that must see it by other means (the store's
 * seal state, the scan's ready flag).
 */
#include "keyfilter.h"
#include "hash.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BLOCK_WORDS 8 /* 512 bits, one cache line */
#define BITS_PER_KEY 10
#define PROBES 7

struct keyfilter {
    _Atomic uint64_t *words;
    uint64_t nblocks;
    uint64_t capacity;
};

static uint64_t hash_bytes(const void *key, size_t len)
{
    return hash_mix64(hash_fnv1a(key, len));
}

struct keyfilter *keyfilter_new(uint64_t capacity)
{
    struct keyfilter *f = calloc(1, sizeof(*f));
    if (!f)
        abort();
    f->capacity = capacity ? capacity : 1;
    f->nblocks = (f->capacity * BITS_PER_KEY + 511) / 512;
    size_t bytes = (size_t)f->nblocks * BLOCK_WORDS * sizeof(uint64_t);
    f->words = aligned_alloc(64, bytes);
    if (!f->words) {
        fputs("dealstream: out of memory\n", stderr);
        abort();
    }
    memset((void *)f->words, 0, bytes);
    return f;
}

void keyfilter_free(struct keyfilter *f)
{
    if (!f)
        return;
    free((void *)f->words);
    free(f);
}

/* The key's block, and in *bits its PROBES bit positions (9 bits each:
 * 3 pick the word, 6 the bit). Adds and probes must agree on both. */
static _Atomic uint64_t *probe_of(const struct keyfilter *f, const void *key,
                                  size_t len, uint64_t *bits)
{
    uint64_t h = hash_bytes(key, len);
    uint64_t b = (uint64_t)(((unsigned __int128)h * f->nblocks) >> 64);
    *bits = hash_mix64(h + 0x9e3779b97f4a7c15ULL);
    return f->words + b * BLOCK_WORDS;
}

bool keyfilter_add(struct keyfilter *f, const void *key, size_t len)
{
    uint64_t bits;
    _Atomic uint64_t *blk = probe_of(f, key, len, &bits);
    bool fresh = false;
    for (int i = 0; i < PROBES; i++, bits >>= 9) {
        uint64_t bit = (uint64_t)1 << (bits & 63);
        if (!(atomic_fetch_or_explicit(&blk[(bits >> 6) & 7], bit,
                                       memory_order_relaxed) &
              bit))
            fresh = true;
    }
    return fresh;
}

bool keyfilter_may_contain(const struct keyfilter *f, const void *key,
                           size_t len)
{
    uint64_t bits;
    _Atomic uint64_t *blk = probe_of(f, key, len, &bits);
    for (int i = 0; i < PROBES; i++, bits >>= 9)
        if (!(atomic_load_explicit(&blk[(bits >> 6) & 7],
                                   memory_order_relaxed) &
              ((uint64_t)1 << (bits & 63))))
            return false;
    return true;
}

void keyfilter_prefetch(const struct keyfilter *f, uint64_t fnv)
{
    uint64_t h = hash_mix64(fnv); /* as hash_bytes() */
    uint64_t b = (uint64_t)(((unsigned __int128)h * f->nblocks) >> 64);
    __builtin_prefetch(f->words + b * BLOCK_WORDS);
}

uint64_t keyfilter_capacity(const struct keyfilter *f) { return f->capacity; }

size_t keyfilter_bytes(const struct keyfilter *f)
{
    return (size_t)f->nblocks * BLOCK_WORDS * sizeof(uint64_t);
}
