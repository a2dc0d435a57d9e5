/*
 * reload.h - applying a changed processor.yaml without a restart (SIGHUP,
 * or POST /-/reload when http.reload is true).
 *
 * The new file is loaded, compared key by key with the running config
 * (config_diff) and, when every key that differs can change live, built
 * completely beside the running one: the config, the codec (schema ids),
 * and one new instance per enabled processor (rules, thresholds, weights,
 * compiled keyword libraries). The loop then swaps that generation in
 * between two records (runtime.c), so no record sees half of it. Keys
 * that shape the consumer, the topics or the state (brokers, group,
 * topics, partitions, state.dir, ...) cannot change live: such a file is
 * refused as a whole, naming them, and the running config is kept.
 */
#ifndef DS_RELOAD_H
#define DS_RELOAD_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "codec.h"
#include "config.h"
#include "processor.h"

enum reload_result {
    RELOAD_OK = 0,  /* applied */
    RELOAD_ERROR,   /* the file does not load: errors logged, old kept */
    RELOAD_REFUSED, /* a key that cannot change live differs: old kept */
};

/* "ok", "error", "refused": the metric's result label. */
const char *reload_result_name(enum reload_result r);

/* Whether the key at `path` ("state.batch_interval",
 * "processors.coaching.rules") may change while the daemon runs. Keys not
 * listed as live are not, so a key added to a table is refused until it
 * is known to be safe. */
bool reload_key_is_live(const char *path);

/* Where the file comes from: the daemon's -c and --set. */
struct reload_source {
    const char *path;
    const char *const *sets;
    size_t n_sets;
    const struct config_plugin *plugins;
    size_t n_plugins;
};

/* What a reload replaces, built whole before the swap. */
struct reload_gen {
    struct config *cfg;  /* owned; NULL: not this generation's to free */
    struct codec *codec; /* owned */
    void **inst;         /* owned: per processor, NULL when disabled */
    const struct processor_ops *const *procs;
    size_t n_procs;
};

/*
 * Loads src, compares it with `running` and builds a generation. RELOAD_OK
 * with *out (free with reload_gen_free once swapped out), or the result
 * with every reason logged. `msg` gets one line for the HTTP answer.
 */
enum reload_result reload_prepare(const struct reload_source *src,
                                  const struct config *running,
                                  const struct processor_ops *const *procs,
                                  size_t n_procs, struct reload_gen **out,
                                  char *msg, size_t msglen);

/* Destroys the instances, then the codec, then the config they borrow
 * from; accepts NULL. */
void reload_gen_free(struct reload_gen *g);

/*
 * POST /-/reload: the HTTP thread asks, the loop does it between two
 * records and answers. The loop's check (reload_req_pending) takes no
 * lock.
 */
struct reload_req {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    uint64_t asked; /* tickets handed out; read by the loop atomically */
    uint64_t done;  /* tickets answered */
    enum reload_result result; /* of the last reload done */
    char msg[512];
    bool closed; /* the loop has stopped: nothing will answer */
};

void reload_req_init(struct reload_req *r);
void reload_req_destroy(struct reload_req *r);
bool reload_req_pending(struct reload_req *r); /* accepts NULL */
/* The loop, before it reads the file: the tickets this reload answers
 * (those asked later may have edited the file since: they get the next). */
uint64_t reload_req_take(struct reload_req *r); /* accepts NULL */
/* The loop, after: tickets up to `upto` get result and msg. */
void reload_req_finish(struct reload_req *r, uint64_t upto,
                       enum reload_result result, const char *msg);
/* The loop has stopped: answers every waiting request with an error,
 * and every later one at once, so that stopping the HTTP server (which
 * waits for its requests) never waits for a reload that will not come. */
void reload_req_close(struct reload_req *r); /* accepts NULL */
/* The HTTP thread: asks and waits up to timeout_ms. 0 with *result and
 * msg, or -1 when the loop did not get to it in time (it still will). */
int reload_req_run(struct reload_req *r, int64_t timeout_ms,
                   enum reload_result *result, char *msg, size_t msglen);

#endif
