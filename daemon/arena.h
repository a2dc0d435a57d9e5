/*
 * arena.h - a bump allocator for one record's decoded strings and arrays.
 *
 * The runtime decodes each record into an arena and resets it after the
 * processors are done, so decoding allocates nothing per event once the
 * arena has grown to the size of the largest record seen.
 */
#ifndef DS_ARENA_H
#define DS_ARENA_H

#include <stddef.h>

struct arena;

/* Bytes a chunk takes beside its chunk_size: a chunk_size of
 * 512 - ARENA_CHUNK_HDR makes each chunk one 512-byte allocation. */
#define ARENA_CHUNK_HDR 32

/* chunk_size 0 means 64 KiB. NULL when out of memory. */
struct arena *arena_new(size_t chunk_size);
void arena_free(struct arena *a); /* accepts NULL */
/* Invalidates every pointer handed out. Keeps one chunk: when the record
 * needed several, they are replaced by a single chunk as big as all of them,
 * so the next record of that size needs no malloc. */
void arena_reset(struct arena *a);
/* Aligned to 16 bytes; aborts on out-of-memory. */
void *arena_alloc(struct arena *a, size_t n);
char *arena_strndup(struct arena *a, const char *s, size_t n);

#endif
