/*
 * statecodec.h - the pieces every processor's state codec needs beyond
 * buf.h: counts, 32-bit numbers and required strings read back with the
 * checks that keep a corrupt record from turning into a huge allocation,
 * and a strdup for the strings the state owns.
 *
 * Like buf.h's readers these set r->err and return zero instead of failing,
 * so a decoder checks r->err once at the end.
 */
#ifndef DS_STATECODEC_H
#define DS_STATECODEC_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

/* A count of elements that follow. More than max, or more than the bytes
 * left (every element takes at least one), cannot be genuine: sets r->err
 * and returns 0. */
size_t statecodec_count(struct buf_reader *r, size_t max);

/* A varint that must fit 32 bits; sets r->err when it does not. */
uint32_t statecodec_u32(struct buf_reader *r);

/* A string that must be present: a malloc'd copy (caller frees), or NULL
 * with r->err set. */
char *statecodec_req_str(struct buf_reader *r);

/* strdup that aborts on out-of-memory, as buf.c does: a processor can do
 * nothing useful without memory. NULL for NULL. */
char *statecodec_strdup(const char *s);

#endif
