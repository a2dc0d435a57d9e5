/*
 * http.h - the HTTP endpoint for operators: /metrics (Prometheus text
 * format), /healthz and /readyz (JSON). The adapter around libmicrohttpd,
 * the only file that includes its header. With http.reload, POST
 * /-/reload too.
 *
 * It answers on libmicrohttpd's own thread from the snapshot the loop
 * publishes (metrics.h), so no request ever waits on the loop.
 */
#ifndef DS_HTTP_H
#define DS_HTTP_H

#include <stddef.h>
#include <stdint.h>

#include "metrics.h"

struct http_server;
struct reload_req;

struct http_opts {
    const char *listen;      /* "host:port"; IPv6 as "[::1]:9464" */
    int64_t stall_ms;        /* /healthz: 503 past this loop age */
    struct metrics_pub *pub; /* borrowed: outlives the server */
    const char *version;     /* for dealstream_build_info */
    /* Optional (http.reload): POST /-/reload asks the loop through it
     * and answers with the outcome. Borrowed: outlives the server. */
    struct reload_req *reload;
};

/* Starts listening. 0 with *out set, or -1 with err filled in. */
int http_start(const struct http_opts *o, struct http_server **out,
               char *err, size_t errlen);
/* Stops the thread and closes the socket; accepts NULL. */
void http_stop(struct http_server *s);

/* The probes' answers, separate from the server for the tests: the
 * HTTP status, and the JSON body in body. snap is NULL before the loop's
 * first publish. */
int http_healthz(const struct metrics *snap, int64_t now_ms, int64_t stall_ms,
                 char *body, size_t len);
int http_readyz(const struct metrics *snap, char *body, size_t len);

#endif
