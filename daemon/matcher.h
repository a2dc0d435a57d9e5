/*
 * matcher.h - keyword libraries compiled into one multi-pattern matcher
 * (the Hyperscan adapter).
 *
 * A library of literal phrases is compiled once per configuration and then
 * scanned in a single pass per text, however many phrases it holds. Text and
 * patterns go through the same normalisation first, so matching is:
 *   - case-insensitive for Latin letters,
 *   - tolerant of full-width forms (ＡＢＣ, full-width digits and
 *     punctuation such as ？ ， ：) which fold to ASCII,
 *   - tolerant of the spaces ASR inserts between Chinese characters
 *     ("等 保 三 级" matches "等保三级"), while spaces between Latin words
 *     are kept (collapsed to one) so "our product" does not match "ourproduct";
 *     leading and trailing whitespace is dropped,
 *   - aware of Latin word starts: a phrase beginning with a Latin letter or
 *     digit matches only where no letter/digit precedes it ("roi" does not
 *     fire inside "heroic"); the end is open, so "price" matches "prices".
 * Invalid UTF-8 never crashes: a bad byte normalises to U+FFFD.
 * Offsets reported are byte offsets into the normalised text.
 */
#ifndef DS_MATCHER_H
#define DS_MATCHER_H

#include <stddef.h>

#include "buf.h"

struct matcher;         /* compiled, immutable, single-threaded scanning */
struct matcher_builder; /* collects patterns */

struct matcher_builder *matcher_builder_new(void);
void matcher_builder_free(struct matcher_builder *mb); /* accepts NULL */
/* Adds a literal phrase with the caller's id (ids may repeat: several
 * synonyms of one concept share an id). 0, or -1 for an empty phrase. */
int matcher_builder_add(struct matcher_builder *mb, const char *phrase,
                        unsigned id);
/* Compiles the collected phrases; the builder stays the caller's to free.
 * An empty builder yields a matcher that never matches. 0 and *out, or -1
 * with a message in err. */
int matcher_build(const struct matcher_builder *mb, struct matcher **out,
                  char *err, size_t errlen);
void matcher_free(struct matcher *m); /* accepts NULL */

/* Called per match, in order of (end, start, id); overlapping matches and
 * repeated occurrences are all reported. Return non-zero to stop. */
typedef int (*matcher_hit_fn)(void *arg, unsigned id, size_t from, size_t to);

/* Normalises `text` and reports every match. Returns 0, or -1 on a
 * scanning error. `norm` (optional) is reset and receives the normalised
 * text (NUL-terminated; the offsets index norm->data). m may be NULL (no
 * matches). Not thread-safe: the matcher owns one scratch space. */
int matcher_scan(const struct matcher *m, const char *text, struct buf *norm,
                 matcher_hit_fn fn, void *arg);

/* The normalisation on its own (appends to out and NUL-terminates; the NUL
 * is not counted in out->len). */
void matcher_normalize(const char *text, struct buf *out);

#endif
