/*
 * strjoin.h - snprintf(out, n, "%s%s%s", a, b, c) without the format
 * parser. State keys and signal names are joined this way for every event
 * (~3 % of the processing thread went to snprintf's machinery). The result
 * is snprintf's, truncation included: at most n - 1 bytes and a NUL when
 * n > 0. Returns the length of the whole join, so `>= n` means cut short.
 */
#ifndef DS_STRJOIN_H
#define DS_STRJOIN_H

#include <stddef.h>
#include <string.h>

static inline size_t strjoin_piece(char *out, size_t n, size_t at,
                                   const char *s)
{
    size_t len = strlen(s);
    if (at + 1 < n) {
        size_t room = n - 1 - at;
        memcpy(out + at, s, len < room ? len : room);
    }
    return at + len;
}

/* b and c may be "" (not NULL). */
static inline size_t strjoin3(char *out, size_t n, const char *a,
                              const char *b, const char *c)
{
    size_t at = strjoin_piece(out, n, 0, a);
    at = strjoin_piece(out, n, at, b);
    at = strjoin_piece(out, n, at, c);
    if (n)
        out[at < n ? at : n - 1] = '\0';
    return at;
}

static inline size_t strjoin2(char *out, size_t n, const char *a,
                              const char *b)
{
    return strjoin3(out, n, a, b, "");
}

#endif
