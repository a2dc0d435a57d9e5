/*
 * confusables.h - canonical forms for characters that OCR of handwriting
 * mixes up (己/已/巳, 未/末, 0/O, 1/l/I ...).
 *
 * Instead of expanding every keyword into all its misspellings, both the
 * text and each keyword are mapped to one canonical form per group of
 * confusable characters before they reach the matcher, so a keyword matches
 * whichever variant was written. The map is built from groups given as
 * strings ("己已巳": the first character is the canonical one), so
 * operators extend it in YAML.
 *
 * Before the lookup every character is folded the way the matcher folds it
 * (full-width ASCII to ASCII, ideographic space to a space, Latin letters to
 * lower case); group members are folded too. Otherwise "ICU" and "icu"
 * would canonicalise differently once 'I' belongs to a group.
 */
#ifndef DS_CONFUSABLES_H
#define DS_CONFUSABLES_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

struct confusables; /* immutable once built */

/*
 * Builds the map from `n` group strings (UTF-8). 0 and *out (free with
 * confusables_free), or -1 with a message in err: an invalid group (see
 * confusables_check) or invalid UTF-8.
 */
int confusables_new(const char *const *groups, size_t n,
                    struct confusables **out, char *err, size_t errlen);
void confusables_free(struct confusables *c); /* accepts NULL */

/*
 * Validates groups without building: NULL when fine, else a constant
 * message (for config_table.check). A group needs two distinct characters
 * after folding, and no character may belong to two groups.
 */
const char *confusables_check(const char *const *groups, size_t n);

/* Appends the folded, canonical form of `text` to out, NUL-terminated
 * (out->len excludes the NUL). `c` may be NULL: folding only. Bytes that
 * are not valid UTF-8 are copied unchanged. */
void confusables_canon(const struct confusables *c, const char *text,
                       struct buf *out);

#endif
