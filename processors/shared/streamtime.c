/*
 * streamtime.c - the per-partition stream time of a processor and its
 * state objects (streamtime.h), shared by action_units and orchestration.
 */
#include "streamtime.h"

#include <stdlib.h>

#include "log.h"
#include "statecodec.h"

void streamtime_init(struct streamtime *st, const char *subsys,
                     streamtime_field_fn field)
{
    *st = (struct streamtime){.subsys = subsys, .field = field};
}

void streamtime_free(struct streamtime *st)
{
    if (!st)
        return;
    for (size_t i = 0; i < st->n; i++)
        free(st->key[i]);
    free(st->key);
    free(st->t);
    st->key = NULL;
    st->t = NULL;
    st->n = 0;
}

/* t and key hold `partition`; false for a partition refused. */
static bool room(struct streamtime *st, int32_t partition)
{
    if (partition < 0 || partition > STREAMTIME_MAX_PARTITION)
        return false;
    if ((size_t)partition < st->n)
        return true;
    size_t n = (size_t)partition + 1;
    int64_t *t = realloc(st->t, n * sizeof(*t));
    if (!t)
        abort(); /* as buf.c: nothing useful to do without memory */
    st->t = t;
    char **key = realloc(st->key, n * sizeof(*key));
    if (!key)
        abort();
    st->key = key;
    for (size_t i = st->n; i < n; i++) {
        t[i] = INT64_MIN;
        key[i] = NULL;
    }
    st->n = n;
    return true;
}

int64_t streamtime_of(const struct streamtime *st, int32_t partition)
{
    if (partition < 0 || (size_t)partition >= st->n)
        return INT64_MIN;
    return st->t[partition];
}

int64_t streamtime_max(const struct streamtime *st)
{
    int64_t max = INT64_MIN;
    for (size_t i = 0; i < st->n; i++)
        if (st->t[i] > max)
            max = st->t[i];
    return max;
}

bool streamtime_advance(struct streamtime *st, int32_t partition, int64_t t)
{
    if (!room(st, partition) || t <= st->t[partition])
        return false;
    st->t[partition] = t;
    return true;
}

const char *streamtime_key(struct streamtime *st, struct proc_ctx *ctx,
                           int32_t partition)
{
    if (!room(st, partition))
        return NULL;
    if (!st->key[partition]) {
        char key[64];
        if (ctx_partition_key(ctx, partition, key, sizeof(key)) != 0) {
            LOG_RL(LOG_ERROR, st->subsys, "partition %d: no state key for its "
                   "stream time", (int)partition);
            return NULL;
        }
        st->key[partition] = statecodec_strdup(key);
    }
    return st->key[partition];
}

void streamtime_save(struct streamtime *st, struct proc_ctx *ctx,
                     int32_t partition)
{
    const char *key = streamtime_key(st, ctx, partition);
    if (!key)
        return;
    void *obj = ctx_state(ctx, key, NULL);
    int64_t *t = obj ? st->field(obj) : NULL;
    if (!t || *t >= st->t[partition])
        return;
    *t = st->t[partition];
    ctx_state_dirty(ctx, key);
}

void streamtime_follow(struct streamtime *st, struct proc_ctx *ctx,
                       const int32_t *parts, size_t n, bool assigned)
{
    for (size_t i = 0; i < n; i++) {
        if (!room(st, parts[i]))
            continue;
        st->t[parts[i]] = INT64_MIN;
        if (!assigned)
            continue;
        const char *key = streamtime_key(st, ctx, parts[i]);
        void *obj = key ? ctx_state_find(ctx, key) : NULL;
        const int64_t *t = obj ? st->field(obj) : NULL;
        if (t)
            st->t[parts[i]] = *t;
    }
}
