/*
 * config_secret.c - secrets in the config file.
 *
 * A value may take text from a file or the environment, so credentials need
 * not sit in the YAML (or in the ConfigMap that renders it):
 *   ${file:PATH}  the file's content, one trailing newline dropped; a
 *                 relative PATH is taken from the config file's folder
 *   ${env:NAME}   the environment variable NAME
 * anywhere inside a value (`... password="${env:KAFKA_PASSWORD}";`); `$${`
 * stands for a literal `${`. They are resolved once, at load; a missing file
 * or variable is an error at the value's file:line:column.
 *
 * A value that came from a substitution, and a kafka.properties (or any
 * string map) entry whose key names a credential, is secret: error messages,
 * the config digest and the logs show "<redacted>" instead.
 */
#include "config_impl.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define SECRET_FILE_MAX (1024 * 1024) /* a PEM chain fits many times over */

/* Parts of key names that mark a credential (case-insensitive). Broad on
 * purpose: hiding a harmless value costs less than showing a password. */
static const char *const secret_words[] = {
    "password", "passwd", "secret", "token", "key", "credential",
    "sasl.jaas", "sasl.username", "private", "pem", NULL};

static bool contains_ci(const char *s, const char *w)
{
    size_t n = strlen(w);
    for (; *s; s++)
        if (strncasecmp(s, w, n) == 0)
            return true;
    return false;
}

bool config_key_is_secret(const char *name)
{
    for (size_t i = 0; name && secret_words[i]; i++)
        if (contains_ci(name, secret_words[i]))
            return true;
    return false;
}

/* A growing string; oom is recorded in the ctx. */
struct sbuf {
    char *s;
    size_t n, cap;
};

static int sb_add(struct ctx *c, struct sbuf *b, const char *p, size_t n)
{
    if (b->n + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 64;
        while (cap < b->n + n + 1)
            cap *= 2;
        char *d = realloc(b->s, cap);
        if (!d) {
            c->oom = true;
            return -1;
        }
        b->s = d;
        b->cap = cap;
    }
    memcpy(b->s + b->n, p, n);
    b->n += n;
    b->s[b->n] = '\0';
    return 0;
}

static int read_secret_file(struct ctx *c, const struct node *n,
                            const char *ref, const char *path, struct sbuf *b)
{
    char *full = config_join_path(c, c->dir, path);
    if (!full)
        return -1;
    FILE *fp = fopen(full, "rb");
    if (!fp) {
        config_ctx_err(c, n->src, n->line, n->col, "", "%s: cannot read %s: %s",
                       ref, full, strerror(errno));
        free(full);
        return -1;
    }
    char *buf = malloc(SECRET_FILE_MAX + 1);
    size_t len = buf ? fread(buf, 1, SECRET_FILE_MAX + 1, fp) : 0;
    int bad = !buf ? -1 : ferror(fp) ? 1 : len > SECRET_FILE_MAX ? 2 : 0;
    fclose(fp);
    if (bad) {
        if (bad < 0)
            c->oom = true;
        else
            config_ctx_err(c, n->src, n->line, n->col, "", "%s: %s %s", ref,
                           bad == 1 ? "cannot read" : "is over 1 MiB:", full);
        free(buf);
        free(full);
        return -1;
    }
    free(full);
    if (len && buf[len - 1] == '\n')
        len--;
    if (len && buf[len - 1] == '\r')
        len--;
    int rc = sb_add(c, b, buf, len);
    free(buf);
    return rc;
}

static bool env_name_ok(const char *s)
{
    if (!*s || isdigit((unsigned char)*s))
        return false;
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && *s != '_')
            return false;
    return true;
}

/* Resolves one scalar. 0 unchanged, 1 substituted, -1 error (recorded). */
static int substitute_scalar(struct ctx *c, struct node *n)
{
    const char *s = n->str;
    if (!s || !strstr(s, "${"))
        return 0;
    struct sbuf b = {0};
    int rc = 1;
    bool any = false;
    while (*s && rc > 0) {
        const char *d = strstr(s, "${");
        if (!d) {
            rc = sb_add(c, &b, s, strlen(s)) < 0 ? -1 : rc;
            break;
        }
        if (d > s && d[-1] == '$') { /* "$${": a literal "${" */
            if (sb_add(c, &b, s, (size_t)(d - 1 - s)) < 0 ||
                sb_add(c, &b, "${", 2) < 0)
                rc = -1;
            s = d + 2;
            continue;
        }
        if (sb_add(c, &b, s, (size_t)(d - s)) < 0) {
            rc = -1;
            break;
        }
        const char *e = strchr(d, '}');
        if (!e) {
            config_ctx_err(c, n->src, n->line, n->col, "",
                           "unterminated '${' (write '$${' for a literal one)");
            rc = -1;
            break;
        }
        size_t len = (size_t)(e + 1 - d);
        char *ref = strndup(d, len);  /* "${env:NAME}" */
        char *arg = strndup(d + 2, len - 3);
        if (!ref || !arg) {
            c->oom = true;
            rc = -1;
        } else if (!strncmp(arg, "file:", 5) && arg[5]) {
            rc = read_secret_file(c, n, ref, arg + 5, &b) < 0 ? -1 : 1;
        } else if (!strncmp(arg, "env:", 4) && env_name_ok(arg + 4)) {
            const char *v = getenv(arg + 4);
            if (!v) {
                config_ctx_err(c, n->src, n->line, n->col, "",
                               "%s: environment variable %s is not set", ref,
                               arg + 4);
                rc = -1;
            } else if (sb_add(c, &b, v, strlen(v)) < 0) {
                rc = -1;
            }
        } else {
            config_ctx_err(c, n->src, n->line, n->col, "",
                           "%s: expected ${file:PATH} or ${env:NAME} "
                           "(write '$${' for a literal '${')", ref);
            rc = -1;
        }
        free(ref);
        free(arg);
        any = true;
        s = e + 1;
    }
    if (rc > 0) {
        if (!b.s && sb_add(c, &b, "", 0) < 0) {
            free(b.s);
            return -1;
        }
        free(n->str);
        n->str = b.s;
        n->secret = n->secret || any;
        if (!any)
            return 0;
        /* A value from a file or the environment is never null. */
        n->plain = false;
        return 1;
    }
    free(b.s);
    return -1;
}

int config_substitute(struct ctx *c, struct node *n)
{
    if (!n)
        return 0;
    int bad = 0;
    if (n->kind == NODE_SCALAR)
        return substitute_scalar(c, n) < 0 ? -1 : 0;
    for (size_t i = 0; i < n->n; i++) /* values and items, never keys */
        if (config_substitute(c, n->vals[i]) < 0)
            bad = -1;
    return bad;
}
