/*
 * arena.c - chunked bump allocator for one record's decoded data.
 *
 * Allocation bumps a pointer in the current chunk and takes a new chunk when
 * it is full. arena_reset() frees nothing while a single chunk was enough;
 * when a record needed several, the chunks are replaced by one chunk as big as
 * all of them together, so after the largest record has been seen once the
 * decode path never calls malloc again.
 */
#include "arena.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ARENA_ALIGN 16
#define ARENA_DEFAULT_CHUNK (64 * 1024)

struct chunk {
    struct chunk *next; /* the previously filled chunk */
    size_t cap;         /* usable bytes after the header */
    size_t used;
};

/* The data of a chunk starts at the first 16-byte boundary after the header;
 * malloc returns 16-byte aligned blocks on the platforms we build for. */
#define CHUNK_HDR                                                             \
    ((sizeof(struct chunk) + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1))
#define CHUNK_DATA(c) ((unsigned char *)(c) + CHUNK_HDR)
_Static_assert(CHUNK_HDR == ARENA_CHUNK_HDR, "arena.h's ARENA_CHUNK_HDR");

struct arena {
    struct chunk *cur; /* newest chunk; older ones hang off ->next */
    size_t chunk_size;
};

static void arena_oom(void)
{
    fputs("dealstream: out of memory (arena)\n", stderr);
    abort();
}

static struct chunk *chunk_new(size_t cap)
{
    if (cap > SIZE_MAX - CHUNK_HDR)
        arena_oom();
    struct chunk *c = malloc(CHUNK_HDR + cap);
    if (!c)
        return NULL;
    c->next = NULL;
    c->cap = cap;
    c->used = 0;
    return c;
}

struct arena *arena_new(size_t chunk_size)
{
    struct arena *a = malloc(sizeof(*a));
    if (!a)
        return NULL;
    a->chunk_size = chunk_size ? chunk_size : ARENA_DEFAULT_CHUNK;
    a->cur = chunk_new(a->chunk_size);
    if (!a->cur) {
        free(a);
        return NULL;
    }
    return a;
}

static void chunks_free(struct chunk *c)
{
    while (c) {
        struct chunk *next = c->next;
        free(c);
        c = next;
    }
}

void arena_free(struct arena *a)
{
    if (!a)
        return;
    chunks_free(a->cur);
    free(a);
}

void arena_reset(struct arena *a)
{
    if (!a->cur->next) {
        a->cur->used = 0;
        return;
    }
    /* Several chunks were needed: coalesce into one that fits them all. */
    size_t total = 0;
    for (struct chunk *c = a->cur; c; c = c->next)
        total += c->cap;
    struct chunk *big = chunk_new(total);
    if (!big) {
        /* Keep the newest chunk rather than fail: reset cannot report. */
        chunks_free(a->cur->next);
        a->cur->next = NULL;
        a->cur->used = 0;
        return;
    }
    chunks_free(a->cur);
    a->cur = big;
}

void *arena_alloc(struct arena *a, size_t n)
{
    if (n > SIZE_MAX - ARENA_ALIGN)
        arena_oom();
    size_t need = (n + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);
    if (need == 0)
        need = ARENA_ALIGN; /* distinct, non-NULL pointers for n == 0 */
    struct chunk *c = a->cur;
    if (c->cap - c->used < need) {
        size_t cap = need > a->chunk_size ? need : a->chunk_size;
        c = chunk_new(cap);
        if (!c)
            arena_oom();
        c->next = a->cur;
        a->cur = c;
    }
    void *p = CHUNK_DATA(c) + c->used;
    c->used += need;
    return p;
}

char *arena_strndup(struct arena *a, const char *s, size_t n)
{
    if (n == SIZE_MAX)
        arena_oom();
    char *p = arena_alloc(a, n + 1);
    if (n)
        memcpy(p, s, n);
    p[n] = '\0';
    return p;
}
