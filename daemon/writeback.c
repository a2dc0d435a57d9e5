/*
 * writeback.c - when the dirty state is written back (see writeback.h).
 */
#include "writeback.h"

void writeback_init(struct writeback *wb, int64_t max_dirty_ms,
                    int64_t max_dirty_bytes, uint64_t max_dirty_objects)
{
    *wb = (struct writeback){
        .max_dirty_ms = max_dirty_ms > 0 ? max_dirty_ms : 0,
        .max_dirty_bytes = max_dirty_bytes > 0 ? max_dirty_bytes : 0,
        .max_dirty_objects = max_dirty_objects,
        .first_change_ms = -1,
        .bytes_per_object = WRITEBACK_FIRST_GUESS,
    };
}

void writeback_note_change(struct writeback *wb, int64_t now_ms)
{
    if (wb->first_change_ms < 0)
        wb->first_change_ms = now_ms;
}

uint64_t writeback_dirty_bytes(const struct writeback *wb, uint64_t dirty)
{
    return (uint64_t)((double)dirty * wb->bytes_per_object);
}

enum writeback_due writeback_due(const struct writeback *wb, int64_t now_ms,
                                 uint64_t dirty)
{
    if (wb->first_change_ms < 0 && dirty == 0)
        return WRITEBACK_NOT_DUE;
    /* Without a noted change only the size bounds can fire: the runtime
     * notes a change on every loop turn that finds something unwritten. */
    if (wb->first_change_ms >= 0 &&
        now_ms - wb->first_change_ms >= wb->max_dirty_ms)
        return WRITEBACK_AGE;
    if (wb->max_dirty_objects && dirty >= wb->max_dirty_objects)
        return WRITEBACK_OBJECTS;
    if (wb->max_dirty_bytes &&
        writeback_dirty_bytes(wb, dirty) >= (uint64_t)wb->max_dirty_bytes)
        return WRITEBACK_BYTES;
    return WRITEBACK_NOT_DUE;
}

void writeback_cut(struct writeback *wb, enum writeback_due why)
{
    wb->first_change_ms = -1;
    wb->checkpoints++;
    if ((unsigned)why < sizeof(wb->by_reason) / sizeof(wb->by_reason[0]))
        wb->by_reason[why]++;
}

void writeback_written(struct writeback *wb, uint64_t objects,
                       uint64_t bytes)
{
    wb->puts += objects;
    wb->bytes += bytes;
    if (objects == 0)
        return;
    /* Weighted by objects: a checkpoint of 20k objects says more than one
     * of 3; never forgets the first guess entirely within one checkpoint. */
    double w = (double)objects / ((double)objects + 256.0);
    wb->bytes_per_object = (1.0 - w) * wb->bytes_per_object +
                           w * ((double)bytes / (double)objects);
}

const char *writeback_due_name(enum writeback_due why)
{
    switch (why) {
    case WRITEBACK_AGE:
        return "age";
    case WRITEBACK_BYTES:
        return "bytes";
    case WRITEBACK_OBJECTS:
        return "objects";
    case WRITEBACK_NOT_DUE:
        break;
    }
    return "batch";
}
