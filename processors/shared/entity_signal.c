/*
 * entity_signal.c - the propagation signal record (entity_signal.h).
 */
#include "entity_signal.h"

#include <stdlib.h>
#include <string.h>

#include "event.h"
#include "statecodec.h"

void entity_signal_encode(const struct entity_signal *s, struct buf *out)
{
    buf_reset(out);
    buf_put_u8(out, ENTITY_SIGNAL_TAG);
    buf_put_str(out, s->entity_id);
    buf_put_varint(out, (uint32_t)s->entity_type);
    buf_put_str(out, s->change);
    buf_put_str(out, s->relation);
    buf_put_u8(out, s->has_magnitude);
    buf_put_double(out, s->has_magnitude ? s->magnitude : 0);
}

int entity_signal_decode(const uint8_t *data, size_t len,
                         struct entity_signal *s)
{
    struct buf_reader r;
    memset(s, 0, sizeof(*s));
    buf_reader_init(&r, data, len);
    if (buf_get_u8(&r) != ENTITY_SIGNAL_TAG)
        return -1;
    s->entity_id = statecodec_req_str(&r);
    uint32_t t = statecodec_u32(&r);
    s->change = statecodec_req_str(&r);
    s->relation = statecodec_req_str(&r);
    s->has_magnitude = buf_get_u8(&r) != 0;
    s->magnitude = buf_get_double(&r);
    s->entity_type = (int)t;
    if (r.err || r.p != r.end || t > ENTITY_TENDER || !*s->entity_id ||
        !*s->change) {
        entity_signal_clear(s);
        return -1;
    }
    return 0;
}

void entity_signal_clear(struct entity_signal *s)
{
    free(s->entity_id);
    free(s->change);
    free(s->relation);
    memset(s, 0, sizeof(*s));
}
