/*
 * jsonw.h - a small streaming JSON builder for `inspect` and tools.
 *
 * Processors describe their state through it without including a JSON
 * library. Inside an object every call takes a key; inside an array (or at
 * the top) the key is ignored and may be NULL.
 */
#ifndef DS_JSONW_H
#define DS_JSONW_H

#include <stdbool.h>
#include <stdint.h>

struct jw;

struct jw *jw_new(void);
void jw_free(struct jw *w); /* accepts NULL */
/* Names the next value added with a NULL key inside an object: lets a
 * caller place an object that another module writes (with key NULL). */
void jw_key(struct jw *w, const char *key);
void jw_obj_begin(struct jw *w, const char *key);
void jw_obj_end(struct jw *w);
void jw_arr_begin(struct jw *w, const char *key);
void jw_arr_end(struct jw *w);
void jw_str(struct jw *w, const char *key, const char *v); /* NULL -> null */
void jw_int(struct jw *w, const char *key, int64_t v);
void jw_double(struct jw *w, const char *key, double v);
void jw_bool(struct jw *w, const char *key, bool v);
void jw_null(struct jw *w, const char *key);
/* Returns the finished document (malloc'd, caller frees); `pretty` indents. */
char *jw_finish(struct jw *w, bool pretty);

#endif
