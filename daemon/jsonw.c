/*
 * jsonw.c - the streaming JSON builder over jansson: a stack of open
 * containers; values attach to the innermost one.
 */
#include "jsonw.h"

#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define JW_MAX_DEPTH 64

struct jw {
    json_t *stack[JW_MAX_DEPTH];
    int depth; /* number of open containers */
    json_t *root;
    char *pending_key; /* from jw_key(), used once */
};

struct jw *jw_new(void) { return calloc(1, sizeof(struct jw)); }

void jw_free(struct jw *w)
{
    if (!w)
        return;
    json_decref(w->root);
    free(w->pending_key);
    free(w);
}

/* Attaches v (stealing the reference) to the innermost container. */
void jw_key(struct jw *w, const char *key)
{
    free(w->pending_key);
    w->pending_key = key ? strdup(key) : NULL;
}

static void attach(struct jw *w, const char *key, json_t *v)
{
    if (!v)
        return;
    if (!key && w->pending_key)
        key = w->pending_key;
    if (w->depth == 0) {
        if (!w->root)
            w->root = json_incref(v);
        json_decref(v);
        return;
    }
    json_t *top = w->stack[w->depth - 1];
    if (json_is_object(top))
        json_object_set_new(top, key ? key : "", v);
    else
        json_array_append_new(top, v);
    free(w->pending_key);
    w->pending_key = NULL;
}

static void open_container(struct jw *w, const char *key, json_t *c)
{
    if (w->depth == JW_MAX_DEPTH) {
        json_decref(c);
        return;
    }
    attach(w, key, json_incref(c));
    w->stack[w->depth++] = c;
    json_decref(c); /* the parent (or root) holds it */
}

void jw_obj_begin(struct jw *w, const char *key)
{
    open_container(w, key, json_object());
}
void jw_arr_begin(struct jw *w, const char *key)
{
    open_container(w, key, json_array());
}
void jw_obj_end(struct jw *w)
{
    if (w->depth > 0)
        w->depth--;
}
void jw_arr_end(struct jw *w) { jw_obj_end(w); }

void jw_str(struct jw *w, const char *key, const char *v)
{
    attach(w, key, v ? json_string(v) : json_null());
}
void jw_int(struct jw *w, const char *key, int64_t v)
{
    attach(w, key, json_integer((json_int_t)v));
}
void jw_double(struct jw *w, const char *key, double v)
{
    /* JSON has no NaN/Inf; null says "not a number" honestly. */
    attach(w, key, isfinite(v) ? json_real(v) : json_null());
}
void jw_bool(struct jw *w, const char *key, bool v)
{
    attach(w, key, json_boolean(v));
}
void jw_null(struct jw *w, const char *key) { attach(w, key, json_null()); }

char *jw_finish(struct jw *w, bool pretty)
{
    if (!w->root)
        return NULL;
    size_t flags = JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(10);
    flags |= pretty ? JSON_INDENT(2) : JSON_COMPACT;
    return json_dumps(w->root, flags);
}
