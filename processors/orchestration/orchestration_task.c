/*
 * orchestration_task.c - task and message templates: "{name}" replaced by
 * the work item's values. Unknown names are refused when the config loads,
 * so rendering never meets one it cannot fill.
 */
#include <string.h>

#include "orchestration.h"
#include "utf8.h"

static const char *const names[] = {
    "customer_id", "rep_id", "opportunity_id", "department", "trigger",
    "requirement", "keyword", "sla", "task", "due", NULL};

static const char *value_of(const struct or_vars *v, size_t i)
{
    const char *vals[] = {v->customer_id, v->rep_id,  v->opportunity_id,
                          v->department,  v->trigger, v->requirement,
                          v->keyword,     v->sla,     v->task,
                          v->due};
    return vals[i];
}

/* The index of the placeholder at s ("{name}"), its length in *len; -1. */
static int placeholder(const char *s, size_t *len)
{
    const char *end = strchr(s, '}');
    if (*s != '{' || !end)
        return -1;
    size_t n = (size_t)(end - s - 1);
    for (int i = 0; names[i]; i++)
        if (strlen(names[i]) == n && memcmp(names[i], s + 1, n) == 0) {
            *len = n + 2;
            return i;
        }
    return -1;
}

const char *or_template_check(const char *t)
{
    for (const char *p = t; p && *p; p++) {
        size_t len;
        if (*p == '{' && placeholder(p, &len) < 0)
            return "unknown placeholder in a template (known: {customer_id}, "
                   "{rep_id}, {opportunity_id}, {department}, {trigger}, "
                   "{requirement}, {keyword}, {sla}, {task}, {due})";
    }
    return NULL;
}

void or_render(const char *t, const struct or_vars *v, struct buf *out)
{
    buf_reset(out);
    for (const char *p = t; *p;) {
        size_t len;
        int i = *p == '{' ? placeholder(p, &len) : -1;
        if (i < 0) {
            buf_append(out, p, 1);
            p++;
            continue;
        }
        const char *val = value_of(v, (size_t)i);
        if (val)
            buf_append(out, val, strlen(val));
        p += len;
    }
    buf_append(out, "", 1);
    out->len--;
}

bool or_is_chinese(const char *text, double ratio)
{
    size_t cjk = 0, latin = 0, k;
    uint32_t cp;
    for (const char *p = text ? text : ""; (k = utf8_next(p, &cp)) > 0; p += k) {
        if ((cp >= 0x4e00 && cp <= 0x9fff) || (cp >= 0x3400 && cp <= 0x4dbf) ||
            (cp >= 0xf900 && cp <= 0xfaff) || (cp >= 0x20000 && cp <= 0x2ffff))
            cjk++;
        else if ((cp >= 'a' && cp <= 'z') || (cp >= 'A' && cp <= 'Z'))
            latin++;
    }
    return cjk + latin > 0 && (double)cjk >= ratio * (double)(cjk + latin);
}
