/*
 * http.c - libmicrohttpd behind /metrics, /healthz and /readyz.
 *
 * Each request copies the loop's last snapshot under its mutex and renders
 * it; nothing here touches the loop's own structures. Process figures
 * (RSS, fds, CPU) are read from /proc at scrape time, on this thread.
 */
#include "http.h"

#include <errno.h>
#include <stdarg.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <microhttpd.h>

#include "log.h"
#include "now.h"
#include "reload.h"

struct http_server {
    struct MHD_Daemon *d;
    struct http_opts o;
    char *listen; /* owned copy */
    char *version;
};

int http_healthz(const struct metrics *snap, int64_t now_ms, int64_t stall_ms,
                 char *body, size_t len)
{
    if (!snap || !snap->started_at_ms) {
        snprintf(body, len, "{\"status\":\"starting\",\"reason\":\"the "
                            "processing loop has not started yet\"}\n");
        return 503;
    }
    int64_t age = now_ms - snap->loop_at_ms;
    if (age > stall_ms) {
        snprintf(body, len,
                 "{\"status\":\"stalled\",\"reason\":\"the processing loop "
                 "has not turned for %lld ms (limit %lld ms)\"}\n",
                 (long long)age, (long long)stall_ms);
        return 503;
    }
    snprintf(body, len, "{\"status\":\"ok\"}\n");
    return 200;
}

int http_readyz(const struct metrics *snap, char *body, size_t len)
{
    const char *missing[4];
    char restoring[96];
    size_t n = 0;
    if (!snap || !snap->started_at_ms)
        missing[n++] = "the processing loop has not started";
    else {
        if (snap->assigned_partitions <= 0)
            missing[n++] = "no partitions assigned";
        if (!snap->producer_up)
            missing[n++] = "the producer is not up";
        if (snap->restoring) {
            snprintf(restoring, sizeof(restoring),
                     "partition %d is being restored from the changelog",
                     (int)snap->restoring_partition);
            missing[n++] = restoring;
        }
    }
    if (n == 0) {
        snprintf(body, len, "{\"status\":\"ready\"}\n");
        return 200;
    }
    size_t o = (size_t)snprintf(body, len,
                                "{\"status\":\"not ready\",\"missing\":[");
    for (size_t i = 0; i < n && o < len; i++)
        o += (size_t)snprintf(body + o, len - o, "%s\"%s\"", i ? "," : "",
                              missing[i]);
    if (o < len)
        snprintf(body + o, len - o, "]}\n");
    return 503;
}

static enum MHD_Result reply(struct MHD_Connection *c, unsigned status,
                             const char *type, const void *data, size_t n)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(
        n, (void *)data, MHD_RESPMEM_MUST_COPY);
    if (!r)
        return MHD_NO;
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
    enum MHD_Result ret = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return ret;
}

/* How long POST /-/reload waits for the loop: a reload builds Hyperscan
 * databases and reads schemas, well under a second; past this the loop
 * is stuck and /healthz says so. */
#define HTTP_RELOAD_WAIT_MS 30000

/* POST /-/reload: 200 applied, 409 refused (a key that cannot change
 * live), 422 the file does not load, 503 the loop did not answer. */
static enum MHD_Result post_reload(struct http_server *s,
                                   struct MHD_Connection *c)
{
    static const char json[] = "application/json";
    enum reload_result r;
    char msg[512], esc[1100], body[1200];
    if (reload_req_run(s->o.reload, HTTP_RELOAD_WAIT_MS, &r, msg,
                       sizeof(msg)) != 0) {
        snprintf(body, sizeof(body), "{\"result\":\"timeout\",\"message\":"
                 "\"the processing loop did not take the reload within "
                 "%d s; it will when it turns\"}\n", HTTP_RELOAD_WAIT_MS / 1000);
        return reply(c, 503, json, body, strlen(body));
    }
    /* The message names files and keys: escape what JSON needs. */
    size_t o = 0;
    for (const char *p = msg; *p && o + 7 < sizeof(esc); p++) {
        unsigned char ch = (unsigned char)*p;
        if (ch == '"' || ch == '\\') {
            esc[o++] = '\\';
            esc[o++] = (char)ch;
        } else if (ch < 0x20) {
            o += (size_t)snprintf(esc + o, sizeof(esc) - o, "\\u%04x", ch);
        } else {
            esc[o++] = (char)ch;
        }
    }
    esc[o] = '\0';
    snprintf(body, sizeof(body), "{\"result\":\"%s\",\"message\":\"%s\"}\n",
             reload_result_name(r), esc);
    unsigned st = r == RELOAD_OK ? 200 : r == RELOAD_REFUSED ? 409 : 422;
    return reply(c, st, json, body, strlen(body));
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c,
                                  const char *url, const char *method,
                                  const char *version, const char *upload,
                                  size_t *upload_size, void **req)
{
    struct http_server *s = cls;
    (void)version;
    (void)upload;
    static const char json[] = "application/json";
    static const char text[] = "text/plain; charset=utf-8";
    if (strcmp(method, "POST") == 0 && strcmp(url, "/-/reload") == 0) {
        if (!s->o.reload) {
            static const char off[] = "reload over HTTP is off "
                                      "(http.reload: false); send SIGHUP\n";
            return reply(c, 403, text, off, sizeof(off) - 1);
        }
        /* The headers first, then the body (ignored) in pieces, then a
         * last call with none: answer that one. */
        static int seen;
        if (!*req) {
            *req = &seen;
            return MHD_YES;
        }
        if (*upload_size) {
            *upload_size = 0;
            return MHD_YES;
        }
        return post_reload(s, c);
    }
    if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
        return reply(c, 405, text, "only GET\n", 9);
    struct metrics *snap = malloc(sizeof(*snap));
    if (!snap)
        return MHD_NO;
    bool have = metrics_read(s->o.pub, snap);
    char body[512];
    enum MHD_Result ret;
    if (strcmp(url, "/metrics") == 0) {
        struct metrics_process p;
        struct buf b;
        metrics_process_read(&p);
        buf_init(&b);
        metrics_format(snap, &p, s->version, &b);
        ret = reply(c, 200, "text/plain; version=0.0.4; charset=utf-8",
                    b.data, b.len);
        buf_free(&b);
    } else if (strcmp(url, "/healthz") == 0) {
        int st = http_healthz(have ? snap : NULL, now_mono_ms(), s->o.stall_ms,
                              body, sizeof(body));
        ret = reply(c, (unsigned)st, json, body, strlen(body));
    } else if (strcmp(url, "/readyz") == 0) {
        int st = http_readyz(have ? snap : NULL, body, sizeof(body));
        ret = reply(c, (unsigned)st, json, body, strlen(body));
    } else {
        ret = reply(c, 404, text, "not found: try /metrics, /healthz, /readyz\n",
                    43);
    }
    free(snap);
    return ret;
}

/* libmicrohttpd's complaints (a client that hung up, ...) in our log
 * format rather than its own lines on stderr. */
static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
    (void)cls;
    char msg[512];
    vsnprintf(msg, sizeof(msg), fmt, ap);
    msg[strcspn(msg, "\n")] = '\0';
    LOG_RL(LOG_WARN, "http", "%s", msg);
}

/* "host:port" or "[v6]:port" into an address; 0 or -1 with err. */
static int resolve(const char *listen, struct addrinfo **ai, char *err,
                   size_t errlen)
{
    char host[256];
    const char *colon = strrchr(listen, ':');
    if (!colon || colon == listen || !colon[1]) {
        snprintf(err, errlen, "http.listen '%s': expected host:port", listen);
        return -1;
    }
    size_t hl = (size_t)(colon - listen);
    const char *h = listen;
    if (h[0] == '[' && hl >= 2 && h[hl - 1] == ']') {
        h++;
        hl -= 2;
    }
    if (hl >= sizeof(host)) {
        snprintf(err, errlen, "http.listen '%s': host too long", listen);
        return -1;
    }
    memcpy(host, h, hl);
    host[hl] = '\0';
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_NUMERICSERV | AI_PASSIVE};
    int rc = getaddrinfo(host, colon + 1, &hints, ai);
    if (rc != 0) {
        snprintf(err, errlen, "http.listen '%s': %s", listen,
                 gai_strerror(rc));
        return -1;
    }
    return 0;
}

int http_start(const struct http_opts *o, struct http_server **out,
               char *err, size_t errlen)
{
    struct addrinfo *ai = NULL;
    struct http_server *s = calloc(1, sizeof(*s));
    int rc = -1;
    if (!s || !(s->listen = strdup(o->listen)) ||
        !(s->version = strdup(o->version))) {
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    s->o = *o;
    s->o.listen = s->listen;
    s->o.version = s->version;
    if (resolve(o->listen, &ai, err, errlen) != 0)
        goto out;
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG;
    if (ai->ai_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    /* A handful of scrapers and probes; anything more is a mistake. */
    /* The logger first, or libmicrohttpd complains on stderr. */
    s->d = MHD_start_daemon(flags, 0, NULL, NULL, on_request, s,
                            MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, NULL,
                            MHD_OPTION_SOCK_ADDR, ai->ai_addr,
                            MHD_OPTION_CONNECTION_LIMIT, 16u,
                            MHD_OPTION_CONNECTION_TIMEOUT, 10u,
                            MHD_OPTION_END);
    if (!s->d) {
        snprintf(err, errlen, "http.listen '%s': cannot listen: %s",
                 o->listen, errno ? strerror(errno) : "libmicrohttpd failed");
        goto out;
    }
    *out = s;
    s = NULL;
    rc = 0;
out:
    if (ai)
        freeaddrinfo(ai);
    http_stop(s);
    return rc;
}

void http_stop(struct http_server *s)
{
    if (!s)
        return;
    if (s->d)
        MHD_stop_daemon(s->d);
    free(s->listen);
    free(s->version);
    free(s);
}
