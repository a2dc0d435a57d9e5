/*
 * repartition.c - the framing of repartition messages (see repartition.h).
 */
#include "repartition.h"

#include <stdio.h>
#include <string.h>

#define REPARTITION_MAGIC 0x52 /* 'R': never Avro's 0x00 */

int repartition_topic(const char *group, const char *proc, char *out, size_t n)
{
    int w = snprintf(out, n, "%s-%s-repartition", group, proc);
    return (w < 0 || (size_t)w >= n) ? -1 : 0;
}

void repartition_encode(struct buf *out, const struct event_source *origin,
                        uint32_t seq, const char *event_id, int64_t event_time,
                        const void *payload, size_t len)
{
    buf_reset(out);
    buf_put_u8(out, REPARTITION_MAGIC);
    buf_put_str(out, origin->topic);
    buf_put_varint(out, (uint64_t)(uint32_t)origin->partition);
    buf_put_i64(out, origin->offset);
    buf_put_varint(out, seq);
    buf_put_str(out, event_id);
    buf_put_i64(out, event_time);
    buf_append(out, payload, len);
}

/* A string of the framing into the arena; NULL when absent. */
static const char *get_str(struct buf_reader *r, struct arena *a)
{
    const char *s;
    size_t n;
    if (!buf_get_strview(r, &s, &n))
        return NULL;
    return arena_strndup(a, s, n);
}

int repartition_decode(const void *key, size_t klen, const void *val,
                       size_t vlen, struct arena *a, struct event *ev,
                       char *err, size_t errlen)
{
    struct buf_reader r;
    if (!key || klen == 0) {
        snprintf(err, errlen, "message has no key");
        return -1;
    }
    if (memchr(key, '\0', klen)) {
        snprintf(err, errlen, "key holds a NUL byte");
        return -1;
    }
    buf_reader_init(&r, val, vlen);
    if (buf_get_u8(&r) != REPARTITION_MAGIC || r.err) {
        snprintf(err, errlen, "not a repartition record (bad magic byte)");
        return -1;
    }
    memset(ev, 0, sizeof(*ev));
    ev->kind = EVENT_REPARTITION;
    struct repartition_record *rr = &ev->u.repartition;
    rr->origin.topic = get_str(&r, a);
    uint64_t partition = buf_get_varint(&r);
    rr->origin.partition = (int32_t)partition;
    rr->origin.offset = buf_get_i64(&r);
    uint64_t seq = buf_get_varint(&r);
    rr->seq = (uint32_t)seq;
    ev->event_id = get_str(&r, a);
    ev->event_time = buf_get_i64(&r);
    if (r.err || !rr->origin.topic || partition > INT32_MAX || seq > UINT32_MAX) {
        snprintf(err, errlen, "truncated or corrupt repartition framing");
        return -1;
    }
    rr->len = (size_t)(r.end - r.p);
    uint8_t *data = arena_alloc(a, rr->len ? rr->len : 1);
    memcpy(data, r.p, rr->len);
    rr->data = data;
    ev->key = arena_strndup(a, key, klen);
    return 0;
}
