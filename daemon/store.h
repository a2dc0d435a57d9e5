/*
 * store.h - the cache of decoded processor state, written back per batch.
 *
 * Processors work on decoded objects held here; each dirty object is
 * encoded and written once per batch, whatever the number of events that
 * touched it, because a RocksDB get and put per event would cap the loop
 * far below the target rate. The backend is an open `struct state`
 * (RocksDB) or, when NULL, an in-memory map of encoded bytes, so unit tests
 * run the same encode/decode paths without a database.
 *
 * Objects are namespaced by processor ("<processor name>/<key>"). Only
 * clean objects whose last batch is written leave the hot tier, least
 * recently used first, so nothing changed since the last commit is lost.
 */
#ifndef DS_STORE_H
#define DS_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "processor.h"
#include "state.h"

struct store;

/* `ops` (n entries) must outlive the store; `db` may be NULL (in memory). */
struct store *store_new(const struct processor_ops *const *ops, size_t n,
                        struct state *db, size_t max_entries);
void store_free(struct store *s); /* frees every cached object; accepts NULL */

/* The object of processor `proc` for `key`: cached, loaded, or (with
 * create) made with state_new. NULL when absent and !create. A stored value
 * that does not decode is moved aside to "quarantine/<backend key>" (kept for
 * an operator) and logged; a fresh object takes its place. */
void *store_get(struct store *s, size_t proc, const char *key, bool create,
                bool *created);
void store_dirty(struct store *s, size_t proc, const char *key);
/* Look-ahead: the hash of proc's key (as the cache map hashes its backend
 * key), then steps that bring its state into the CPU cache, each once the
 * previous one's memory has had time to arrive: 0 the cache map's slot,
 * 1 the entry (or, without one, the key filter's block), 2 the object or
 * its encoded bytes and its LRU neighbours. Hints only: nothing changes. */
uint64_t store_key_hash(const struct store *s, size_t proc,
                        const struct state_key *key);
void store_prefetch(const struct store *s, uint64_t hash, int step);
void store_delete(struct store *s, size_t proc, const char *key);
/* Every live key of `proc`, from the cache and the backend: a malloc'd
 * array of malloc'd strings (free with store_keys_free). */
char **store_keys(struct store *s, size_t proc, size_t *n);
void store_keys_free(char **keys, size_t n);

/* Encodes every dirty object into `b` (or into the in-memory backend when
 * the store has no db, in which case b may be NULL). Returns the number of
 * objects written. Same as store_seal() then store_seal_step(SIZE_MAX). */
size_t store_flush(struct store *s, struct state_batch *b);
/* Closes a batch without pausing for it: the objects dirty now are to be
 * written into `b` as they are at this call, and are encoded by the
 * sealing thread (store_seal_async) or a few at a time by
 * store_seal_step(), or, when a processor touches one before that, right
 * then, before it can change. Encoding a 5000-event batch at once
 * held the loop for 10-30 ms, which every event arriving meanwhile waited
 * for. `b` must stay valid until the seal is complete; a new seal first
 * completes the previous one. */
void store_seal(struct store *s, struct state_batch *b);
/* Encodes up to `max` objects of the seal in progress; returns how many
 * are left (0: `b` is complete). With the sealer thread running, only
 * SIZE_MAX does work (whatever the sealer has not claimed yet, then waits
 * for it); any other `max` only asks. */
size_t store_seal_step(struct store *s, size_t max);
/* Starts a thread that encodes each seal as soon as it is made, instead of
 * store_seal_step() on the caller's thread; the caller only encodes an
 * object it touches before the thread gets to it. Only over RocksDB (the
 * in-memory backend is read while written). The thread ends in
 * store_free(). 0, or -1 when not possible (the store then seals on the
 * caller's thread as before). */
int store_seal_async(struct store *s);
/* Answers "absent" for keys never written without reading the backend:
 * a Bloom filter for `capacity` keys (10 bits each; ~1 % false
 * positives at capacity, and not used beyond 4x), filled by a scan of the
 * backend on a thread of its own - gets read the backend as before until
 * it is done - and by every write. A new customer's first events then
 * need no RocksDB read. Only over RocksDB; 0, or -1. */
int store_filter_absent(struct store *s, uint64_t capacity);
bool store_filter_ready(const struct store *s); /* the scan is done */
/* Tells the store that the batches of the first `seals` seals (counted
 * from 1 in store_seal()/store_flush() order) are in the backend. Only
 * objects whose last seal is written can be evicted: one evicted earlier
 * would be read back without its newest bytes. The in-memory backend
 * counts as written at once. */
void store_mark_written(struct store *s, uint64_t seals);
/* Moves clean, written objects (and remembered absences) beyond
 * max_entries, least recently used first, to the warm tier - their encoded
 * bytes, or only the key for an absent object - and drops the least
 * recently used warm entries beyond the warm tier's bytes. Safe at any
 * time, so memory stays bounded even while batches are always in flight. */
void store_trim(struct store *s);
/* The same, a piece at a time: moves or drops at most `max` entries, so
 * the work a written batch lets loose (thousands of objects, ~1-2 us
 * each; 5-10 ms per commit at 30k events/s) is spread over the records
 * that follow instead of pausing one of them. Stops at the first entry
 * that cannot go yet. Returns non-zero while it could do more now. */
size_t store_trim_step(struct store *s, size_t max);
/* Bytes of encoded objects the store may hold (0, the default: none, an
 * object pushed out of the hot tier is dropped and read back from the
 * backend): the warm tier, plus, in up to half of it, hot objects' sealed
 * bytes, kept so that moving a clean object to the warm tier is no
 * second encode. */
void store_set_warm_bytes(struct store *s, size_t max);
/* Drops every clean, written cached object, and the warm tier: the next
 * access reads the backend again. Used when partitions are revoked (after every batch is written)
 * and by tests. */
void store_drop_cache(struct store *s);
/* Tells the key filter that the backend now holds `bkey` (a backend key,
 * "<processor>/<key>"), written behind the store's back: restored from
 * the changelog. */
void store_note_key(struct store *s, const void *bkey, size_t len);
/* Asks the CPU for the key filter's block of `bkey`, a few keys before
 * store_note_key() is called for it: the filter is far larger than the
 * caches, and each note otherwise waits for its own miss. */
void store_prefetch_key(const struct store *s, const void *bkey, size_t len);
size_t store_cached(const struct store *s);

/* Counters since store_new, for the periodic stats line and tuning
 * state.cache_max_entries: a low hit share means the cache is too small. */
struct store_stats {
    uint64_t gets;   /* store_get calls */
    uint64_t warm;   /* of which found a warm entry (decoded, no read) */
    uint64_t loads;  /* of which read the backend (cache misses) */
    uint64_t absent; /* of those, found nothing */
    uint64_t filtered; /* absent without a read: the key filter said so */
    uint64_t seal_waits; /* gets that waited for the sealer to finish it */
    /* Now, not counters: */
    size_t hot;          /* decoded objects (and remembered absences) */
    size_t warm_entries; /* warm tier */
    size_t warm_bytes;   /* its estimated memory, with hot objects' sealed
                          * bytes: what store_set_warm_bytes() bounds */
    int64_t sealer_cpu_ms; /* the sealing thread's CPU so far; -1 none */
};
void store_stats(const struct store *s, struct store_stats *out);
size_t store_dirty_count(const struct store *s);
int store_proc_index(const struct store *s, const char *processor);

#endif
