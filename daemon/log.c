/*
 * log.c - one line per event of interest on stderr, text or JSON.
 *
 * stderr is what systemd's journal and container runtimes collect, so the
 * daemon does no file handling or rotation of its own.
 */
#include "log.h"
#include "now.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

enum log_level log_threshold = LOG_INFO;
static enum log_format log_fmt = LOG_FORMAT_TEXT;

static const char *const level_names[] = {"error", "warn", "info", "debug"};

void log_setup(enum log_level level, enum log_format format)
{
    log_threshold = level;
    log_fmt = format;
}

int log_level_parse(const char *s, enum log_level *out)
{
    for (int i = 0; i <= LOG_DEBUG; i++)
        if (strcasecmp(s, level_names[i]) == 0) {
            *out = (enum log_level)i;
            return 0;
        }
    return -1;
}

bool log_ratelimit_allow(struct log_ratelimit *rl, uint32_t burst,
                         uint32_t *suppressed_out)
{
    int64_t now = now_mono_ms();
    *suppressed_out = 0;
    if (rl->window_start == 0 || now - rl->window_start >= 10000) {
        *suppressed_out = rl->suppressed;
        rl->window_start = now;
        rl->count = 0;
        rl->suppressed = 0;
    }
    if (rl->count < burst) {
        rl->count++;
        return true;
    }
    rl->suppressed++;
    return false;
}

/* Escapes a message for a JSON string value. */
static void json_escape(FILE *fp, const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\')
            fprintf(fp, "\\%c", *p);
        else if (*p < 0x20)
            fprintf(fp, "\\u%04x", *p);
        else
            fputc(*p, fp);
    }
}

static void emit(enum log_level level, const char *subsys,
                 const struct log_ids *ids, const char *msg);

void log_write(enum log_level level, const char *subsys, const char *fmt, ...)
{
    char msg[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    emit(level, subsys, NULL, msg);
}

void log_write_ids(enum log_level level, const char *subsys,
                   const struct log_ids *ids, const char *fmt, ...)
{
    char msg[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    emit(level, subsys, ids, msg);
}

static void json_ids(FILE *fp, const struct log_ids *ids)
{
    if (!ids)
        return;
    if (ids->customer_id) {
        fputs(",\"customer_id\":\"", fp);
        json_escape(fp, ids->customer_id);
        fputc('"', fp);
    }
    if (ids->topic) {
        fputs(",\"topic\":\"", fp);
        json_escape(fp, ids->topic);
        fprintf(fp, "\",\"partition\":%d", (int)ids->partition);
        if (ids->offset >= 0)
            fprintf(fp, ",\"offset\":%lld", (long long)ids->offset);
    }
}

static void emit(enum log_level level, const char *subsys,
                 const struct log_ids *ids, const char *msg)
{

    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    char when[32];
    size_t n = strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(when + n, sizeof(when) - n, ".%03ldZ", ts.tv_nsec / 1000000);

    /* One fprintf per line under the stream lock: librdkafka threads log too. */
    flockfile(stderr);
    if (log_fmt == LOG_FORMAT_JSON) {
        fprintf(stderr, "{\"ts\":\"%s\",\"level\":\"%s\",\"subsys\":\"", when,
                level_names[level]);
        json_escape(stderr, subsys);
        fputs("\",\"msg\":\"", stderr);
        json_escape(stderr, msg);
        fputc('"', stderr);
        json_ids(stderr, ids);
        fputs("}\n", stderr);
    } else {
        fprintf(stderr, "%s %-5s [%s] %s\n", when, level_names[level], subsys,
                msg);
    }
    funlockfile(stderr);
}
