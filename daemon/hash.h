/*
 * hash.h - the 64-bit hashing pieces the daemon shares: FNV-1a over bytes
 * and MurmurHash3's finaliser, which spreads FNV's weak low bits (used
 * where bits of the hash pick positions: Bloom filter probes, alert ids).
 */
#ifndef DS_HASH_H
#define DS_HASH_H

#include <stddef.h>
#include <stdint.h>

#define HASH_FNV_OFFSET 0xcbf29ce484222325ULL
#define HASH_FNV_PRIME 0x100000001b3ULL

static inline uint64_t hash_mix64(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ULL;
    x ^= x >> 33;
    return x;
}

static inline uint64_t hash_fnv1a(const void *data, size_t len)
{
    const unsigned char *p = data;
    uint64_t h = HASH_FNV_OFFSET;
    for (size_t i = 0; i < len; i++)
        h = (h ^ p[i]) * HASH_FNV_PRIME;
    return h;
}

/* Continues h over a NUL-terminated string: hashing "ab" is hashing "b"
 * after "a", so a key in pieces needs no joined copy. */
static inline uint64_t hash_fnv1a_more(uint64_t h, const char *s)
{
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * HASH_FNV_PRIME;
    return h;
}

/* The same over a NUL-terminated string, without a strlen pass first. */
static inline uint64_t hash_fnv1a_str(const char *s)
{
    return hash_fnv1a_more(HASH_FNV_OFFSET, s);
}

#endif
