/*
 * sstr.h - a short string kept inside the struct that owns it.
 *
 * State objects (a lead graph is ~20 nodes and signals) used to own every
 * id, relation and signal type as its own heap allocation. Encoding an
 * object a batch later then walked ~20 cold allocations: in the profile,
 * strlen() on those strings was the sealing thread's largest item and
 * freeing them a visible part of the rest. An sstr holds up to
 * SSTR_INLINE - 1 bytes in place (customer ids, device ids, signal types
 * such as "iot.vibration_anomaly.CRITICAL" all fit) with its length, so
 * the bytes sit in the same cache lines as the numbers beside them; longer
 * strings go to the heap.
 *
 * An sstr has no pointer into itself, so arrays of structs holding one may
 * be moved with memmove/realloc. A zeroed sstr is the empty string;
 * sstr_set_null() makes it absent (sstr_str() returns NULL). Every set
 * releases what was held before; sstr_free() releases and leaves "".
 */
#ifndef DS_SSTR_H
#define DS_SSTR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SSTR_INLINE 32

struct sstr {
    uint32_t len;
    bool heap; /* the bytes are in u.ptr */
    bool null; /* absent, distinct from "" */
    union {
        char in[SSTR_INLINE]; /* NUL-terminated */
        char *ptr;            /* NUL-terminated, owned */
    } u;
};

/* The bytes, NUL-terminated (NULL when absent); valid until the next set
 * or free. */
static inline const char *sstr_str(const struct sstr *s)
{
    return s->null ? NULL : s->heap ? s->u.ptr : s->u.in;
}

static inline size_t sstr_len(const struct sstr *s) { return s->len; }

/* Copies len bytes of p (which need not be NUL-terminated); p may not point
 * into s. Aborts on OOM. */
void sstr_set(struct sstr *s, const char *p, size_t len);
/* sstr_set with strlen(p); NULL makes s absent. */
void sstr_set_cstr(struct sstr *s, const char *p);
void sstr_set_null(struct sstr *s);
void sstr_free(struct sstr *s);

/* Does s hold exactly the len bytes of p? Absent equals nothing. */
bool sstr_eq(const struct sstr *s, const char *p, size_t len);
/* Byte order (strcmp's for strings without NUL bytes); an absent string
 * sorts first. */
int sstr_cmp(const struct sstr *a, const struct sstr *b);

#endif
