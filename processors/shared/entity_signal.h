/*
 * entity_signal.h - the record the propagation processor sends through its
 * repartition topic to each customer linked to an entity that had news, and
 * that lead_rating (processor_ops.repartition_from) turns into a signal on
 * the customer's graph. One definition for the two processors.
 *
 * The first byte of every propagation record names its kind; this one is
 * ENTITY_SIGNAL_TAG.
 */
#ifndef DS_ENTITY_SIGNAL_H
#define DS_ENTITY_SIGNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"

#define ENTITY_SIGNAL_TAG 'S'

struct entity_signal {
    char *entity_id;
    int entity_type;  /* enum entity_type of the link */
    char *change;     /* the EntityEvent's change: PRICE_CUT, ... */
    char *relation;   /* what linked the customer: COMPETITOR_LINKED, ... */
    bool has_magnitude;
    double magnitude;
};

/* Into out (reset first). */
void entity_signal_encode(const struct entity_signal *s, struct buf *out);
/* 0 and *s (strings malloc'd: entity_signal_clear), or -1 on bytes that
 * are not a whole entity signal record. */
int entity_signal_decode(const uint8_t *data, size_t len,
                         struct entity_signal *s);
void entity_signal_clear(struct entity_signal *s);

#endif
