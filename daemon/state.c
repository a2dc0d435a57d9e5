/*
 * state.c - the RocksDB adapter (the only file that includes rocksdb/c.h).
 *
 * Key layout in the one default column family:
 *
 *   <caller key>                      opaque bytes chosen by the store above;
 *                                     never empty, never starting with 0x00
 *   "\x00off/" topic "\x00" part_be32 -> next_offset as 8 bytes big-endian
 *   "\x00wm/" part_be32               -> the partition group's watermark,
 *                                     ms since epoch, 8 bytes big-endian
 *
 * Byte 0x00 opens a namespace reserved to this module, so no caller key can
 * collide with an offset record and a caller's scan never sees one. Offset
 * keys are big-endian so they sort by topic, then partition.
 *
 * Why these options: one LRU block cache shared through the table factory
 * (index and filter blocks charged to it too), and db_write_buffer_size at
 * twice the memtable size, so memory stays bounded however many partitions
 * the instance owns (the 7.8 C API has no WriteBufferManager object). A
 * 10-bit bloom filter makes a get for an absent key, common for new
 * customers, cost no disk read. LZ4 when the library has it, else none.
 *
 * A batch keeps only the latest offset per topic/partition and adds those
 * puts at commit time, so one WriteBatch carries state and offsets and a
 * crash can never separate them.
 */
#include "state.h"

#include "log.h"

#include <errno.h>
#include <pthread.h>
#include <rocksdb/c.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define OFF_PREFIX "\x00off/"
#define OFF_PREFIX_LEN 5
#define OFF_VALUE_LEN 8
#define WM_PREFIX "\x00wm/"
#define WM_PREFIX_LEN 4
#define WM_KEY_LEN (WM_PREFIX_LEN + 4)

/* Always on, also in release builds: a broken invariant here would corrupt
 * the offsets that exactly-once delivery depends on. */
#define STATE_ASSERT(cond)                                                    \
    do {                                                                      \
        if (!(cond))                                                          \
            state_assert_fail(#cond, __FILE__, __LINE__);                     \
    } while (0)

struct state {
    rocksdb_t *db;
    rocksdb_cache_t *cache;
    rocksdb_env_t *env; /* the default env; its compaction pool niced */
    rocksdb_readoptions_t *ropts; /* reused by every get */
    rocksdb_writeoptions_t *wopts;
    bool read_only;
    char *dir;
};

struct batch_offset {
    char *topic;
    int32_t partition;
    int64_t next_offset;
};

struct batch_wm {
    int32_t partition;
    int64_t wm; /* ms since epoch */
};

struct state_batch {
    rocksdb_writebatch_t *wb;
    size_t count; /* puts + deletes, offsets excluded */
    struct batch_offset *offs;
    size_t noffs, capoffs;
    struct batch_wm *wms;
    size_t nwms, capwms;
    size_t peak_bytes; /* the most its WriteBatch held (see batch_pool) */
};

/* Freed batches kept for the next state_batch_new(). A checkpoint's
 * WriteBatch grows from empty by doubling (one std::string), so each one
 * copied its records several times and touched fresh pages as it grew:
 * about a fifth of the sealing thread's CPU. Cleared, a WriteBatch keeps
 * its capacity. A few are kept (the runtime makes one per checkpoint and
 * frees it once written); one that grew past BATCH_POOL_BYTES (a large
 * replay or restore) is let go rather than pinned. */
#define BATCH_POOL_MAX 2
#define BATCH_POOL_BYTES ((size_t)32 << 20)
static pthread_mutex_t batch_pool_mu = PTHREAD_MUTEX_INITIALIZER;
static struct state_batch *batch_pool[BATCH_POOL_MAX];
static size_t batch_pool_n;

static void state_assert_fail(const char *expr, const char *file, int line)
{
    fprintf(stderr, "dealstream: state: assertion failed: %s (%s:%d)\n", expr,
            file, line);
    abort();
}

static void *state_xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p) {
        fputs("dealstream: out of memory\n", stderr);
        abort();
    }
    return p;
}

static void set_err(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
    if (!err || errlen == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

static void put_be32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (24 - 8 * i));
}

static uint32_t get_be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 |
           (uint32_t)p[3];
}

static void put_be64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (56 - 8 * i));
}

static uint64_t get_be64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | p[i];
    return v;
}

/* The offset key for topic/partition into a malloc'd buffer. */
static char *offset_key(const char *topic, int32_t partition, size_t *klen)
{
    size_t tlen = strlen(topic);
    size_t n = OFF_PREFIX_LEN + tlen + 1 + 4;
    char *k = state_xmalloc(n);
    memcpy(k, OFF_PREFIX, OFF_PREFIX_LEN);
    memcpy(k + OFF_PREFIX_LEN, topic, tlen);
    k[OFF_PREFIX_LEN + tlen] = '\0';
    put_be32((uint8_t *)k + OFF_PREFIX_LEN + tlen + 1, (uint32_t)partition);
    *klen = n;
    return k;
}

static void wm_key(int32_t partition, char key[WM_KEY_LEN])
{
    memcpy(key, WM_PREFIX, WM_PREFIX_LEN);
    put_be32((uint8_t *)key + WM_PREFIX_LEN, (uint32_t)partition);
}

/* mkdir -p: RocksDB creates only the last component. */
static int mkdir_p(const char *dir, char *err, size_t errlen)
{
    int rc = -1;
    char *path = strdup(dir);
    if (!path) {
        set_err(err, errlen, "state dir %s: out of memory", dir);
        goto out;
    }
    for (char *p = path + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(path, 0755) != 0 && errno != EEXIST) {
            set_err(err, errlen, "cannot create state dir %s: %s: %s", dir,
                    path, strerror(errno));
            goto out;
        }
        *p = '/';
    }
    if (mkdir(path, 0755) != 0 && errno != EEXIST) {
        set_err(err, errlen, "cannot create state dir %s: %s", dir,
                strerror(errno));
        goto out;
    }
    struct stat sb;
    if (stat(path, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
        set_err(err, errlen, "state dir %s exists and is not a directory", dir);
        goto out;
    }
    rc = 0;
out:
    free(path);
    return rc;
}

/* Turns RocksDB's open error into one an operator can act on. */
static void open_err(const char *dir, const char *rerr, char *err,
                     size_t errlen)
{
    if (strstr(rerr, "lock hold by current process"))
        set_err(err, errlen,
                "state dir %s is already open in this process (%s)", dir,
                rerr);
    else if (strstr(rerr, "While lock file")) /* fcntl lock refused */
        set_err(err, errlen,
                "state dir %s is locked by another dealstream process (%s)",
                dir, rerr);
    else
        set_err(err, errlen, "state dir %s: cannot open RocksDB (%s)", dir,
                rerr);
}

/* Memtable inserts start from where the last insert with the same key
 * prefix landed instead of searching the skip list from the top, which is
 * cheap when a batch is written in key order (the store's sealer sorts
 * each batch). The prefix is the first byte: in practice one per
 * processor namespace. Measured: the commit thread's memtable inserts were
 * ~4 us per put, nearly all cache misses in that search. The C API has no
 * setter for this option, so it goes by name; on failure `opts` is
 * returned as it was (slower inserts, same data). */
static rocksdb_options_t *with_insert_hints(rocksdb_options_t *opts)
{
    rocksdb_options_t *hinted = rocksdb_options_create();
    char *rerr = NULL;
    rocksdb_get_options_from_string(
        opts, "memtable_insert_with_hint_prefix_extractor=rocksdb.FixedPrefix.1",
        hinted, &rerr);
    if (rerr) {
        LOG(LOG_WARN, "state", "memtable insert hints not set: %s", rerr);
        rocksdb_free(rerr);
        rocksdb_options_destroy(hinted);
        return opts;
    }
    rocksdb_options_destroy(opts);
    return hinted;
}

static rocksdb_options_t *make_options(const struct state_options *o,
                                       rocksdb_cache_t *cache,
                                       rocksdb_env_t *env, int compression)
{
    rocksdb_options_t *opts = rocksdb_options_create();
    rocksdb_block_based_table_options_t *bbto =
        rocksdb_block_based_options_create();

    rocksdb_block_based_options_set_block_cache(bbto, cache);
    /* Owned by bbto (and copied into the table factory below). */
    rocksdb_block_based_options_set_filter_policy(
        bbto, rocksdb_filterpolicy_create_bloom_full(10));
    /* Index and filter blocks count against the cache, so it is the bound;
     * L0's stay pinned since every get consults them. */
    rocksdb_block_based_options_set_cache_index_and_filter_blocks(bbto, 1);
    rocksdb_block_based_options_set_pin_l0_filter_and_index_blocks_in_cache(
        bbto, 1);
    rocksdb_block_based_options_set_format_version(bbto, 5);
    /* A file's index and filter in ~4 KiB partitions, cached one by one.
     * Whole, a 50 MB file's (1M customers) did not fit the block cache's
     * 1 MiB shards, so every get that reached the file read and
     * decompressed its whole index again: at 64k events/s the loop fell to
     * a third of that rate once evicted objects were read back (p99 2.5 s
     * at half load). Partitioned: p99 16-21 ms, CPU unchanged. The top
     * level stays pinned. */
    rocksdb_block_based_options_set_index_type(
        bbto, rocksdb_block_based_table_index_type_two_level_index_search);
    rocksdb_block_based_options_set_partition_filters(bbto, 1);
    rocksdb_block_based_options_set_metadata_block_size(bbto, 4096);
    rocksdb_block_based_options_set_pin_top_level_index_and_filter(bbto, 1);
    rocksdb_block_based_options_set_cache_index_and_filter_blocks_with_high_priority(
        bbto, 1);
    rocksdb_options_set_block_based_table_factory(opts, bbto);
    rocksdb_block_based_options_destroy(bbto);

    rocksdb_options_set_create_if_missing(opts, 1);
    rocksdb_options_set_env(opts, env);
    rocksdb_options_increase_parallelism(opts, 2);
    rocksdb_options_set_compaction_style(opts, rocksdb_level_compaction);
    rocksdb_options_set_level_compaction_dynamic_level_bytes(opts, 1);
    rocksdb_options_set_write_buffer_size(opts, (size_t)o->write_buffer_bytes);
    rocksdb_options_set_max_write_buffer_number(opts, 2);
    rocksdb_options_set_db_write_buffer_size(opts,
                                             2 * (size_t)o->write_buffer_bytes);
    /* A bloom filter over the memtable's whole keys: most gets are for a
     * key not written recently (a customer's first event, a meeting's
     * first segment), and without it each walks the skiplist (~1.5 us
     * here, the top item in the profile). 10% of the memtable size. */
    rocksdb_options_set_memtable_prefix_bloom_size_ratio(opts, 0.1);
    rocksdb_options_set_memtable_whole_key_filtering(opts, 1);
    rocksdb_options_set_max_open_files(opts, 512);
    rocksdb_options_set_compression(opts, compression);
    /* L0 files are rewritten by the next compaction within seconds (every
     * object here is rewritten often), so compressing them is wasted work:
     * a flush then is a plain copy, and a compaction does not decompress
     * its L0 inputs. The levels below keep `compression`. Alternating
     * pairs: RocksDB's threads -11 %, the whole process -4 %. (With dynamic
     * level sizes, [1] applies to the level L0 compacts into, and so on.) */
    int per_level[7] = {rocksdb_no_compression, compression, compression,
                        compression, compression, compression, compression};
    rocksdb_options_set_compression_per_level(opts, per_level, 7);
    /* With keys spread evenly every L0 -> base-level compaction rewrites
     * all the state, so its CPU is per compaction, and 8 files make half
     * as many as RocksDB's 4. Gets do not pay for the longer L0 here:
     * most are served by the caches or answered by the key filter.
     * Alternating pairs, 1M events: RocksDB's and the client's threads
     * -21 % and all threads -6 % at 100k customers (five pairs), all
     * threads -16 % at 1M customers (three); p99 at half load no worse. */
    rocksdb_options_set_level0_file_num_compaction_trigger(opts, 8);
    /* Flushes, compactions and the WAL hand their bytes to the kernel a
     * MiB at a time (sync_file_range) instead of leaving tens of MB dirty
     * for the file's final fsync, as RocksDB's tuning guide advises for
     * any deployment. Compactions' wall time here 0.9 s against 1.1-1.3;
     * the latency tail did not move (PERFORMANCE.md). */
    rocksdb_options_set_bytes_per_sync(opts, 1 << 20);
    rocksdb_options_set_wal_bytes_per_sync(opts, 1 << 20);
    /* RocksDB's own LOG files in the state dir: keep a few, bounded. */
    rocksdb_options_set_keep_log_file_num(opts, 5);
    rocksdb_options_set_max_log_file_size(opts, 16 << 20);
    return with_insert_hints(opts);
}

static rocksdb_t *open_db(const struct state_options *o, rocksdb_cache_t *cache,
                          rocksdb_env_t *env, int compression, char **rerr)
{
    rocksdb_options_t *opts = make_options(o, cache, env, compression);
    rocksdb_t *db;
    if (o->read_only)
        db = rocksdb_open_for_read_only(opts, o->dir, 0, rerr);
    else
        db = rocksdb_open(opts, o->dir, rerr);
    rocksdb_options_destroy(opts);
    return db;
}

void state_thread_init(void) { rocksdb_set_perf_level(rocksdb_disable); }

int state_open(const struct state_options *opts, struct state **out,
               char *err, size_t errlen)
{
    int rc = -1;
    char *rerr = NULL;
    struct state *st = NULL;
    state_thread_init(); /* the opening thread reads it (daemon, tools) */

    *out = NULL;
    if (!opts->dir || !*opts->dir) {
        set_err(err, errlen, "state dir is not set");
        goto out;
    }
    if (opts->block_cache_bytes <= 0 || opts->write_buffer_bytes <= 0) {
        set_err(err, errlen,
                "state dir %s: block_cache_bytes and write_buffer_bytes must "
                "be positive",
                opts->dir);
        goto out;
    }
    if (opts->read_only) {
        struct stat sb;
        if (stat(opts->dir, &sb) != 0) {
            set_err(err, errlen, "state dir %s: %s", opts->dir,
                    strerror(errno));
            goto out;
        }
    } else if (mkdir_p(opts->dir, err, errlen) != 0) {
        goto out;
    }

    st = calloc(1, sizeof(*st));
    if (!st || !(st->dir = strdup(opts->dir))) {
        set_err(err, errlen, "state dir %s: out of memory", opts->dir);
        goto out;
    }
    st->read_only = opts->read_only;
    st->cache = rocksdb_cache_create_lru((size_t)opts->block_cache_bytes);
    /* Compactions run at low CPU and I/O priority, so on a small machine
     * they take idle time rather than the processing thread's: at half
     * load p99.9 fell ~30 % (35 -> 24-27 ms), bulk throughput unchanged.
     * Flushes keep normal priority: a full memtable would stall writes. */
    st->env = rocksdb_create_default_env();
    rocksdb_env_lower_thread_pool_cpu_priority(st->env);
    rocksdb_env_lower_thread_pool_io_priority(st->env);

    st->db = open_db(opts, st->cache, st->env, rocksdb_lz4_compression,
                     &rerr);
    if (!st->db && rerr && strstr(rerr, "not linked with the binary")) {
        LOG_WRN("state", "RocksDB lacks LZ4 (%s); storing uncompressed", rerr);
        rocksdb_free(rerr);
        rerr = NULL;
        st->db = open_db(opts, st->cache, st->env, rocksdb_no_compression,
                         &rerr);
    }
    if (!st->db) {
        open_err(opts->dir, rerr ? rerr : "unknown error", err, errlen);
        goto out;
    }

    st->ropts = rocksdb_readoptions_create();
    st->wopts = rocksdb_writeoptions_create();
    rocksdb_writeoptions_set_sync(st->wopts, opts->sync ? 1 : 0);
    rocksdb_writeoptions_disable_WAL(st->wopts, 0);

    *out = st;
    st = NULL;
    rc = 0;
out:
    if (rerr)
        rocksdb_free(rerr);
    state_close(st);
    return rc;
}

void state_close(struct state *st)
{
    if (!st)
        return;
    /* The DB before the cache: the table readers still reference it. */
    if (st->db)
        rocksdb_close(st->db);
    if (st->cache)
        rocksdb_cache_destroy(st->cache);
    if (st->env) /* the wrapper only: the default env lives on */
        rocksdb_env_destroy(st->env);
    if (st->ropts)
        rocksdb_readoptions_destroy(st->ropts);
    if (st->wopts)
        rocksdb_writeoptions_destroy(st->wopts);
    free(st->dir);
    free(st);
}

/* Reads one raw key: 1 with a malloc'd copy, 0 when absent, -1 on error. */
static int raw_get(struct state *st, const void *key, size_t klen, void **val,
                   size_t *vlen, char *err, size_t errlen)
{
    char *rerr = NULL;
    rocksdb_pinnableslice_t *ps =
        rocksdb_get_pinned(st->db, st->ropts, key, klen, &rerr);
    if (rerr) {
        set_err(err, errlen, "state read in %s: %s", st->dir, rerr);
        rocksdb_free(rerr);
        rocksdb_pinnableslice_destroy(ps);
        return -1;
    }
    if (!ps)
        return 0;
    size_t n;
    const char *p = rocksdb_pinnableslice_value(ps, &n);
    /* Our own copy: the pinned slice holds a cache handle, and callers free
     * with free(), not rocksdb_free(). */
    void *copy = state_xmalloc(n);
    if (n)
        memcpy(copy, p, n);
    rocksdb_pinnableslice_destroy(ps);
    *val = copy;
    *vlen = n;
    return 1;
}

int state_get(struct state *st, const void *key, size_t klen, void **val,
              size_t *vlen, char *err, size_t errlen)
{
    *val = NULL;
    *vlen = 0;
    if (klen == 0 || ((const uint8_t *)key)[0] == 0x00)
        return 0; /* no caller key can live there */
    return raw_get(st, key, klen, val, vlen, err, errlen);
}

/* The smallest key greater than every key starting with prefix: the prefix
 * with its last non-0xff byte incremented and the rest dropped. 0 when the
 * prefix is all 0xff (no bound). */
static size_t prefix_successor(const uint8_t *prefix, size_t plen,
                               uint8_t *out)
{
    while (plen > 0 && prefix[plen - 1] == 0xff)
        plen--;
    if (plen == 0)
        return 0;
    memcpy(out, prefix, plen);
    out[plen - 1]++;
    return plen;
}

/* Iterates from start over every key starting with prefix and calls fn.
 * With a prefix the iterator gets an upper bound, so it never wanders past
 * the prefix through tombstones. */
static int raw_scan(struct state *st, const void *start, size_t slen,
                    const void *prefix, size_t plen,
                    int (*fn)(void *arg, const void *key, size_t klen,
                              const void *val, size_t vlen),
                    void *arg, char *err, size_t errlen)
{
    int rc = -1;
    char *rerr = NULL;
    rocksdb_readoptions_t *ro = rocksdb_readoptions_create();
    /* A scan passes over everything once: keep it from pushing the
     * working set out of the block cache. */
    rocksdb_readoptions_set_fill_cache(ro, 0);
    uint8_t *upper = state_xmalloc(plen);
    size_t ulen = prefix_successor(prefix, plen, upper);
    if (ulen)
        rocksdb_readoptions_set_iterate_upper_bound(ro, (const char *)upper,
                                                    ulen);
    rocksdb_iterator_t *it = rocksdb_create_iterator(st->db, ro);
    for (rocksdb_iter_seek(it, start, slen); rocksdb_iter_valid(it);
         rocksdb_iter_next(it)) {
        size_t kl, vl;
        const char *k = rocksdb_iter_key(it, &kl);
        if (plen && (kl < plen || memcmp(k, prefix, plen) != 0))
            break;
        const char *v = rocksdb_iter_value(it, &vl);
        if (fn(arg, k, kl, v, vl) != 0)
            break;
    }
    rocksdb_iter_get_error(it, &rerr);
    if (rerr) {
        set_err(err, errlen, "state scan in %s: %s", st->dir, rerr);
        rocksdb_free(rerr);
        goto out;
    }
    rc = 0;
out:
    rocksdb_iter_destroy(it);
    rocksdb_readoptions_destroy(ro); /* after the iterator: it uses upper */
    free(upper);
    return rc;
}

int state_scan(struct state *st, const void *prefix, size_t plen,
               int (*fn)(void *arg, const void *key, size_t klen,
                         const void *val, size_t vlen),
               void *arg, char *err, size_t errlen)
{
    if (plen == 0) {
        /* Every caller key: they all sort from byte 0x01 on. */
        static const uint8_t first = 0x01;
        return raw_scan(st, &first, 1, NULL, 0, fn, arg, err, errlen);
    }
    if (((const uint8_t *)prefix)[0] == 0x00)
        return 0; /* the reserved namespace is not the callers' to see */
    return raw_scan(st, prefix, plen, prefix, plen, fn, arg, err, errlen);
}

int state_offset_get(struct state *st, const char *topic, int32_t partition,
                     int64_t *next_offset, char *err, size_t errlen)
{
    size_t klen, vlen = 0;
    void *val = NULL;
    char *key = offset_key(topic, partition, &klen);
    int rc = raw_get(st, key, klen, &val, &vlen, err, errlen);
    if (rc == 1 && vlen != OFF_VALUE_LEN) {
        set_err(err, errlen,
                "state dir %s: corrupt offset record for %s/%d (%zu bytes)",
                st->dir, topic, (int)partition, vlen);
        rc = -1;
    } else if (rc == 1) {
        *next_offset = (int64_t)get_be64(val);
    }
    free(val);
    free(key);
    return rc;
}

int state_watermark_get(struct state *st, int32_t partition, int64_t *wm,
                        char *err, size_t errlen)
{
    char key[WM_KEY_LEN];
    void *val = NULL;
    size_t vlen = 0;
    wm_key(partition, key);
    int rc = raw_get(st, key, sizeof(key), &val, &vlen, err, errlen);
    if (rc == 1 && vlen != OFF_VALUE_LEN) {
        set_err(err, errlen,
                "state dir %s: corrupt watermark record for partition %d "
                "(%zu bytes)", st->dir, (int)partition, vlen);
        rc = -1;
    } else if (rc == 1) {
        *wm = (int64_t)get_be64(val);
    }
    free(val);
    return rc;
}

struct offset_scan_ctx {
    int (*fn)(void *arg, const char *topic, int32_t partition,
              int64_t next_offset);
    void *arg;
    int bad; /* a malformed record was met */
};

static int offset_scan_one(void *arg, const void *key, size_t klen,
                           const void *val, size_t vlen)
{
    struct offset_scan_ctx *c = arg;
    const char *k = key;
    /* prefix, topic, NUL, 4 partition bytes: the NUL sits 5 from the end */
    if (klen < OFF_PREFIX_LEN + 1 + 4 || k[klen - 5] != '\0' ||
        memchr(k + OFF_PREFIX_LEN, '\0', klen - OFF_PREFIX_LEN - 5) ||
        vlen != OFF_VALUE_LEN) {
        c->bad = 1;
        return 1;
    }
    return c->fn(c->arg, k + OFF_PREFIX_LEN,
                 (int32_t)get_be32((const uint8_t *)k + klen - 4),
                 (int64_t)get_be64(val));
}

int state_offset_scan(struct state *st,
                      int (*fn)(void *arg, const char *topic,
                                int32_t partition, int64_t next_offset),
                      void *arg, char *err, size_t errlen)
{
    struct offset_scan_ctx c = {fn, arg, 0};
    if (raw_scan(st, OFF_PREFIX, OFF_PREFIX_LEN, OFF_PREFIX, OFF_PREFIX_LEN,
                 offset_scan_one, &c, err, errlen) != 0)
        return -1;
    if (c.bad) {
        set_err(err, errlen, "state dir %s: corrupt offset record", st->dir);
        return -1;
    }
    return 0;
}

struct state_batch *state_batch_new(void)
{
    struct state_batch *b = NULL;
    pthread_mutex_lock(&batch_pool_mu);
    if (batch_pool_n)
        b = batch_pool[--batch_pool_n];
    pthread_mutex_unlock(&batch_pool_mu);
    if (b)
        return b;
    b = state_xmalloc(sizeof(*b));
    memset(b, 0, sizeof(*b));
    b->wb = rocksdb_writebatch_create();
    return b;
}

static void batch_clear_offsets(struct state_batch *b)
{
    for (size_t i = 0; i < b->noffs; i++)
        free(b->offs[i].topic);
    b->noffs = 0;
}

/* Empties b for reuse, noting the most its WriteBatch held. */
static void batch_reset(struct state_batch *b)
{
    size_t bytes = state_batch_bytes(b);
    if (bytes > b->peak_bytes)
        b->peak_bytes = bytes;
    rocksdb_writebatch_clear(b->wb);
    batch_clear_offsets(b);
    b->nwms = 0;
    b->count = 0;
}

void state_batch_free(struct state_batch *b)
{
    if (!b)
        return;
    batch_reset(b);
    if (b->peak_bytes <= BATCH_POOL_BYTES) {
        pthread_mutex_lock(&batch_pool_mu);
        bool kept = batch_pool_n < BATCH_POOL_MAX;
        if (kept)
            batch_pool[batch_pool_n++] = b;
        pthread_mutex_unlock(&batch_pool_mu);
        if (kept)
            return;
    }
    free(b->offs);
    free(b->wms);
    rocksdb_writebatch_destroy(b->wb);
    free(b);
}

void state_batch_put(struct state_batch *b, const void *key, size_t klen,
                     const void *val, size_t vlen)
{
    STATE_ASSERT(klen > 0 && ((const uint8_t *)key)[0] != 0x00);
    rocksdb_writebatch_put(b->wb, key, klen, val, vlen);
    b->count++;
}

void state_batch_delete(struct state_batch *b, const void *key, size_t klen)
{
    STATE_ASSERT(klen > 0 && ((const uint8_t *)key)[0] != 0x00);
    rocksdb_writebatch_delete(b->wb, key, klen);
    b->count++;
}

void state_batch_offset(struct state_batch *b, const char *topic,
                        int32_t partition, int64_t next_offset)
{
    STATE_ASSERT(topic && partition >= 0 && next_offset >= 0);
    /* A batch spans a handful of partitions: a linear search is enough. */
    for (size_t i = 0; i < b->noffs; i++)
        if (b->offs[i].partition == partition &&
            strcmp(b->offs[i].topic, topic) == 0) {
            b->offs[i].next_offset = next_offset;
            return;
        }
    if (b->noffs == b->capoffs) {
        size_t cap = b->capoffs ? 2 * b->capoffs : 8;
        struct batch_offset *p = realloc(b->offs, cap * sizeof(*p));
        if (!p) {
            fputs("dealstream: out of memory\n", stderr);
            abort();
        }
        b->offs = p;
        b->capoffs = cap;
    }
    size_t tlen = strlen(topic) + 1;
    char *t = state_xmalloc(tlen);
    memcpy(t, topic, tlen);
    b->offs[b->noffs++] =
        (struct batch_offset){t, partition, next_offset};
}

void state_batch_watermark(struct state_batch *b, int32_t partition,
                           int64_t wm)
{
    STATE_ASSERT(partition >= 0 && wm >= 0);
    for (size_t i = 0; i < b->nwms; i++)
        if (b->wms[i].partition == partition) {
            b->wms[i].wm = wm;
            return;
        }
    if (b->nwms == b->capwms) {
        size_t cap = b->capwms ? 2 * b->capwms : 8;
        struct batch_wm *p = realloc(b->wms, cap * sizeof(*p));
        if (!p) {
            fputs("dealstream: out of memory\n", stderr);
            abort();
        }
        b->wms = p;
        b->capwms = cap;
    }
    b->wms[b->nwms++] = (struct batch_wm){partition, wm};
}

size_t state_batch_count(const struct state_batch *b) { return b->count; }

size_t state_batch_bytes(const struct state_batch *b)
{
    size_t n = 0;
    rocksdb_writebatch_data(b->wb, &n);
    return n;
}

struct each_ctx {
    void (*fn)(void *arg, const void *key, size_t klen, bool put);
    void *arg;
};

static void each_put(void *c, const char *k, size_t klen, const char *v,
                     size_t vlen)
{
    (void)v;
    (void)vlen;
    struct each_ctx *e = c;
    e->fn(e->arg, k, klen, true);
}

static void each_delete(void *c, const char *k, size_t klen)
{
    struct each_ctx *e = c;
    e->fn(e->arg, k, klen, false);
}

void state_batch_each(const struct state_batch *b,
                      void (*fn)(void *arg, const void *key, size_t klen,
                                 bool put),
                      void *arg)
{
    struct each_ctx e = {fn, arg};
    rocksdb_writebatch_iterate(b->wb, &e, each_put, each_delete);
}

struct each_value_ctx {
    void (*fn)(void *arg, const void *key, size_t klen, const void *val,
               size_t vlen);
    void *arg;
};

static void each_value_put(void *c, const char *k, size_t klen, const char *v,
                           size_t vlen)
{
    struct each_value_ctx *e = c;
    e->fn(e->arg, k, klen, v ? v : "", vlen);
}

static void each_value_delete(void *c, const char *k, size_t klen)
{
    struct each_value_ctx *e = c;
    e->fn(e->arg, k, klen, NULL, 0);
}

void state_batch_each_value(const struct state_batch *b,
                            void (*fn)(void *arg, const void *key,
                                       size_t klen, const void *val,
                                       size_t vlen),
                            void *arg)
{
    struct each_value_ctx e = {fn, arg};
    rocksdb_writebatch_iterate(b->wb, &e, each_value_put, each_value_delete);
}

void state_batch_each_offset(const struct state_batch *b,
                             void (*fn)(void *arg, const char *topic,
                                        int32_t partition, int64_t next),
                             void *arg)
{
    for (size_t i = 0; i < b->noffs; i++)
        fn(arg, b->offs[i].topic, b->offs[i].partition,
           b->offs[i].next_offset);
}

void state_batch_each_watermark(const struct state_batch *b,
                                void (*fn)(void *arg, int32_t partition,
                                           int64_t wm),
                                void *arg)
{
    for (size_t i = 0; i < b->nwms; i++)
        fn(arg, b->wms[i].partition, b->wms[i].wm);
}

int state_batch_commit(struct state *st, struct state_batch *b, char *err,
                       size_t errlen)
{
    int rc = -1;
    char *rerr = NULL;

    if (b->count == 0 && b->noffs == 0 && b->nwms == 0)
        return 0;
    if (st->read_only) {
        set_err(err, errlen, "state dir %s is open read-only", st->dir);
        return -1;
    }
    /* The save point lets a failed write leave the batch as it was. */
    rocksdb_writebatch_set_save_point(b->wb);
    for (size_t i = 0; i < b->noffs; i++) {
        size_t klen;
        char *key = offset_key(b->offs[i].topic, b->offs[i].partition, &klen);
        uint8_t v[OFF_VALUE_LEN];
        put_be64(v, (uint64_t)b->offs[i].next_offset);
        rocksdb_writebatch_put(b->wb, key, klen, (const char *)v, sizeof(v));
        free(key);
    }
    for (size_t i = 0; i < b->nwms; i++) {
        char key[WM_KEY_LEN];
        uint8_t v[OFF_VALUE_LEN];
        wm_key(b->wms[i].partition, key);
        put_be64(v, (uint64_t)b->wms[i].wm);
        rocksdb_writebatch_put(b->wb, key, sizeof(key), (const char *)v,
                               sizeof(v));
    }
    rocksdb_write(st->db, st->wopts, b->wb, &rerr);
    if (rerr) {
        set_err(err, errlen, "state commit in %s: %s", st->dir, rerr);
        rocksdb_free(rerr);
        rerr = NULL;
        rocksdb_writebatch_rollback_to_save_point(b->wb, &rerr);
        if (rerr) /* cannot happen: the save point was just set */
            rocksdb_free(rerr);
        goto out;
    }
    batch_reset(b);
    rc = 0;
out:
    return rc;
}

int state_flush(struct state *st, char *err, size_t errlen)
{
    char *rerr = NULL;
    if (st->read_only)
        return 0;
    rocksdb_flushoptions_t *fo = rocksdb_flushoptions_create();
    rocksdb_flushoptions_set_wait(fo, 1);
    rocksdb_flush(st->db, fo, &rerr);
    rocksdb_flushoptions_destroy(fo);
    if (rerr) {
        set_err(err, errlen, "state flush in %s: %s", st->dir, rerr);
        rocksdb_free(rerr);
        return -1;
    }
    return 0;
}

uint64_t state_estimate_keys(struct state *st)
{
    uint64_t n = 0;
    if (rocksdb_property_int(st->db, "rocksdb.estimate-num-keys", &n) != 0)
        return 0;
    return n;
}

uint64_t state_disk_bytes(struct state *st)
{
    uint64_t sst = 0, mem = 0;
    /* Live SST files plus the memtables, whose content sits in the WAL. */
    if (rocksdb_property_int(st->db, "rocksdb.live-sst-files-size", &sst) != 0)
        sst = 0;
    if (rocksdb_property_int(st->db, "rocksdb.size-all-mem-tables", &mem) != 0)
        mem = 0;
    return sst + mem;
}

struct wipe_ctx {
    struct state_batch *b;
    int32_t partition;
    bool (*mine)(void *arg, const void *key, size_t klen);
    void *arg;
};

static int wipe_key(void *arg, const void *key, size_t klen, const void *val,
                    size_t vlen)
{
    (void)val;
    (void)vlen;
    struct wipe_ctx *w = arg;
    if (w->mine(w->arg, key, klen))
        state_batch_delete(w->b, key, klen);
    return 0;
}

static int wipe_offset(void *arg, const char *topic, int32_t partition,
                       int64_t next)
{
    (void)next;
    struct wipe_ctx *w = arg;
    if (partition == w->partition) {
        size_t klen;
        char *key = offset_key(topic, partition, &klen);
        rocksdb_writebatch_delete(w->b->wb, key, klen);
        w->b->count++;
        free(key);
    }
    return 0;
}

int state_wipe_partition(struct state *st, int32_t partition,
                         bool (*mine)(void *arg, const void *key, size_t klen),
                         void *arg, char *err, size_t errlen)
{
    struct wipe_ctx w = {state_batch_new(), partition, mine, arg};
    int rc = state_scan(st, NULL, 0, wipe_key, &w, err, errlen);
    if (rc == 0)
        rc = state_offset_scan(st, wipe_offset, &w, err, errlen);
    if (rc == 0) {
        char key[WM_KEY_LEN];
        wm_key(partition, key);
        rocksdb_writebatch_delete(w.b->wb, key, sizeof(key));
        w.b->count++;
    }
    if (rc == 0)
        rc = state_batch_commit(st, w.b, err, errlen);
    state_batch_free(w.b);
    return rc;
}

static int64_t prop_int(struct state *st, const char *name)
{
    uint64_t v = 0;
    return rocksdb_property_int(st->db, name, &v) == 0 ? (int64_t)v : -1;
}

void state_memory(struct state *st, struct state_memory *out)
{
    out->block_cache = st->cache ? (int64_t)rocksdb_cache_get_usage(st->cache)
                                 : -1;
    out->memtables = prop_int(st, "rocksdb.size-all-mem-tables");
    out->table_readers = prop_int(st, "rocksdb.estimate-table-readers-mem");
    out->pending_compaction =
        prop_int(st, "rocksdb.estimate-pending-compaction-bytes");
    /* The C API of 7.8 has no statistics tickers: the stall time is the
     * "Cumulative stall: H:M:S" line of the DB stats text. */
    out->stall_seconds = -1;
    char *s = rocksdb_property_value(st->db, "rocksdb.dbstats");
    const char *p = s ? strstr(s, "Cumulative stall: ") : NULL;
    int h, m;
    double sec;
    if (p && sscanf(p, "Cumulative stall: %d:%d:%lf", &h, &m, &sec) == 3)
        out->stall_seconds = h * 3600.0 + m * 60.0 + sec;
    rocksdb_free(s);
}
