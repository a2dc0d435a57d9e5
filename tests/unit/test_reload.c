/*
 * test_reload.c - the live reload's pieces without a broker: which keys
 * may change live, config_diff over the shipped processor.yaml, a whole
 * generation (codec and the real processors) built or refused by
 * reload_prepare, and the handoff POST /-/reload waits on.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "log.h"
#include "registry.h"
#include "reload.h"

static const char *const shipped = DS_SOURCE_DIR "/processor.yaml";

static struct config *load(const char *const *sets, size_t n)
{
    struct config *cfg = NULL;
    struct config_errors errs = {0};
    int rc = config_load(shipped, sets, n, registry_plugins(), registry_count,
                         &cfg, &errs);
    config_errors_print(&errs, stderr);
    config_errors_free(&errs);
    assert_int_equal(rc, 0);
    return cfg;
}

static void test_live_keys(void **st)
{
    (void)st;
    assert_true(reload_key_is_live("processors.lead_rating.tiers.c"));
    assert_true(reload_key_is_live("processors.coaching.rules"));
    assert_true(reload_key_is_live("schemas.ids"));
    assert_true(reload_key_is_live("state.batch_interval"));
    assert_true(reload_key_is_live("log.level"));
    /* What shapes the consumer, the topics or the state. */
    assert_false(reload_key_is_live("processors.coaching.enabled"));
    assert_false(reload_key_is_live("processors.coaching"));
    assert_false(reload_key_is_live("processors."));
    assert_false(reload_key_is_live("kafka.bootstrap_servers"));
    assert_false(reload_key_is_live("kafka.group_id"));
    assert_false(reload_key_is_live("kafka.topic_partitions"));
    assert_false(reload_key_is_live("topics.dlq"));
    assert_false(reload_key_is_live("state.dir"));
    assert_false(reload_key_is_live("state.block_cache"));
    assert_false(reload_key_is_live("http.listen"));
    /* A key nobody listed is not live, whatever its section. */
    assert_false(reload_key_is_live("state.some_new_key"));
    assert_false(reload_key_is_live("processing.guarantee"));
}

struct paths {
    char v[16][128];
    size_t n;
};

static void collect(void *arg, const char *path)
{
    struct paths *p = arg;
    if (p->n < 16)
        snprintf(p->v[p->n++], sizeof(p->v[0]), "%s", path);
}

static void test_diff(void **st)
{
    (void)st;
    struct config *a = load(NULL, 0);
    struct config *same = load(NULL, 0);
    assert_int_equal(config_diff(a, same, NULL, NULL), 0);

    const char *sets[] = {
        "processors.lead_rating.tiers.c=3",
        "state.dir=/elsewhere",
        "processors.coaching.enabled=false",
        "kafka.properties.fetch.wait.max.ms=50",
        "processors.coaching.objections.price.phrases=[cost]",
    };
    struct config *b = load(sets, sizeof(sets) / sizeof(sets[0]));
    struct paths p = {0};
    assert_int_equal(config_diff(a, b, collect, &p), 5);
    /* Core sections in table order, then each processor. */
    assert_string_equal(p.v[0], "kafka.properties");
    assert_string_equal(p.v[1], "state.dir");
    assert_string_equal(p.v[2], "processors.lead_rating.tiers.c");
    assert_string_equal(p.v[3], "processors.coaching.enabled");
    assert_string_equal(p.v[4], "processors.coaching.objections");
    p.n = 0;
    assert_int_equal(config_diff(b, a, collect, &p), 5); /* symmetric */
    config_free(a);
    config_free(same);
    config_free(b);
}

static void test_digest(void **st)
{
    (void)st;
    struct config *a = load(NULL, 0);
    struct config *same = load(NULL, 0);
    /* The default written out changes nothing; a value does. */
    const char *def[] = {"processors.lead_rating.tiers.c=20"};
    const char *other[] = {"processors.lead_rating.tiers.c=21"};
    const char *order[] = {"processors.lead_rating.tiers.c=21",
                           "kafka.group_id=dealstream"};
    struct config *d = load(def, 1), *o = load(other, 1), *o2 = load(order, 2);
    assert_int_equal(config_digest(a), config_digest(same));
    assert_int_equal(config_digest(a), config_digest(d));
    assert_int_not_equal(config_digest(a), config_digest(o));
    assert_int_equal(config_digest(o), config_digest(o2));
    config_free(a);
    config_free(same);
    config_free(d);
    config_free(o);
    config_free(o2);
}

static void test_prepare(void **st)
{
    (void)st;
    struct config *running = load(NULL, 0);
    struct reload_gen *g = NULL;
    char msg[512];
    const char *live[] = {"processors.lead_rating.tiers.c=3",
                          "processors.lead_rating.tiers.hysteresis=1"};
    struct reload_source src = {.path = shipped, .sets = live, .n_sets = 2,
                                .plugins = registry_plugins(),
                                .n_plugins = registry_count};
    assert_int_equal(reload_prepare(&src, running, registry_processors,
                                    registry_count, &g, msg, sizeof(msg)),
                     RELOAD_OK);
    assert_non_null(g);
    assert_non_null(strstr(msg, "applied, 2 keys changed: "
                                "processors.lead_rating.tiers.c, "
                                "processors.lead_rating.tiers.hysteresis"));
    assert_non_null(g->cfg);
    assert_non_null(g->codec);
    for (size_t i = 0; i < registry_count; i++)
        assert_true((g->inst[i] != NULL) == g->cfg->plugin_enabled[i]);
    reload_gen_free(g);
    g = NULL;

    /* Unchanged: still rebuilt (files a path names may have changed). */
    src.n_sets = 0;
    assert_int_equal(reload_prepare(&src, running, registry_processors,
                                    registry_count, &g, msg, sizeof(msg)),
                     RELOAD_OK);
    assert_non_null(strstr(msg, "applied, no key changed"));
    reload_gen_free(g);
    g = NULL;

    /* A live key and two fixed ones: refused whole, both named. */
    const char *fixed[] = {"kafka.group_id=other", "topics.dlq=x.dlq",
                           "processors.lead_rating.tiers.c=3"};
    src.sets = fixed;
    src.n_sets = 3;
    assert_int_equal(reload_prepare(&src, running, registry_processors,
                                    registry_count, &g, msg, sizeof(msg)),
                     RELOAD_REFUSED);
    assert_null(g);
    assert_non_null(strstr(msg, "refused, 2 keys cannot change without a "
                                "restart: kafka.group_id, topics.dlq; the "
                                "running config is kept"));

    /* A processor's own output topics are fixed like topics.*: a new
     * department topic is refused, a department's SLA is live. */
    config_free(running);
    const char *on[] = {"processors.orchestration.enabled=true"};
    running = load(on, 1);
    const char *dept[] = {"processors.orchestration.enabled=true",
                          "processors.orchestration.departments.legal.topic=ops.legal"};
    src.sets = dept;
    src.n_sets = 2;
    assert_int_equal(reload_prepare(&src, running, registry_processors,
                                    registry_count, &g, msg, sizeof(msg)),
                     RELOAD_REFUSED);
    assert_non_null(strstr(msg, "processors.orchestration (its output topics)"));
    const char *sla[] = {"processors.orchestration.enabled=true",
                         "processors.orchestration.dedup_window=2d"};
    src.sets = sla;
    assert_int_equal(reload_prepare(&src, running, registry_processors,
                                    registry_count, &g, msg, sizeof(msg)),
                     RELOAD_OK);
    reload_gen_free(g);
    g = NULL;

    /* A file that does not load. */
    const char *bad[] = {"processors.lead_rating.max_reasons=banana"};
    src.sets = bad;
    src.n_sets = 1;
    assert_int_equal(reload_prepare(&src, running, registry_processors,
                                    registry_count, &g, msg, sizeof(msg)),
                     RELOAD_ERROR);
    assert_null(g);
    assert_non_null(strstr(msg, "1 error; the running config is kept"));

    /* Loads, but a schema id names a file that is not there: the codec is
     * built before the swap, so this is refused too. */
    const char *noschema[] = {"schemas.ids.3=schemas/missing.avsc"};
    src.sets = noschema;
    assert_int_equal(reload_prepare(&src, running, registry_processors,
                                    registry_count, &g, msg, sizeof(msg)),
                     RELOAD_ERROR);
    assert_null(g);
    config_free(running);
}

/* reload_prepare() of the shipped file with sets, against running. */
static enum reload_result prepare(const char *const *sets, size_t n,
                                  const struct config *running,
                                  struct reload_gen **g, char *msg,
                                  size_t msglen)
{
    struct reload_source src = {.path = shipped, .sets = sets, .n_sets = n,
                                .plugins = registry_plugins(),
                                .n_plugins = registry_count};
    return reload_prepare(&src, running, registry_processors, registry_count,
                          g, msg, msglen);
}

/* A key that switches a feature with inputs of its own (lead_rating's
 * service tickets read crm.opportunity-updates, processor_ops.inputs_of):
 * refused when it would add or drop a subscribed topic, applied when
 * another processor reads that topic anyway. */
static void test_prepare_inputs(void **st)
{
    (void)st;
    const char *on[] = {"processors.coaching.enabled=false",
                        "processors.action_units.enabled=false",
                        "processors.lead_rating.service_tickets.enabled=true"};
    struct config *alone = load(on, 2), *alone_on = load(on, 3),
                  *shipped_cfg = load(NULL, 0);
    struct reload_gen *g = NULL;
    char msg[512];
    assert_int_equal(prepare(on, 3, alone, &g, msg, sizeof(msg)),
                     RELOAD_REFUSED);
    assert_null(g);
    assert_non_null(strstr(msg, "refused, 1 key cannot change without a "
                                "restart: processors.lead_rating (its inputs: "
                                "topics.opportunity_updates)"));
    /* And back: the template on, then off. */
    assert_int_equal(prepare(on, 2, alone_on, &g, msg, sizeof(msg)),
                     RELOAD_REFUSED);
    assert_non_null(strstr(msg, "topics.opportunity_updates"));
    /* action_units reads the opportunity updates (shipped config): the
     * subscription stays, so the template switches live. */
    assert_int_equal(prepare(on + 2, 1, shipped_cfg, &g, msg, sizeof(msg)),
                     RELOAD_OK);
    assert_non_null(strstr(msg, "processors.lead_rating.service_tickets.enabled"));
    reload_gen_free(g);
    config_free(alone);
    config_free(alone_on);
    config_free(shipped_cfg);
}

/* The loop's side: answers every request until told to stop. */
struct loop {
    struct reload_req *r;
    volatile int stop;
    int answered;
};

static void *loop_main(void *arg)
{
    struct loop *l = arg;
    while (!l->stop) {
        if (reload_req_pending(l->r)) {
            uint64_t upto = reload_req_take(l->r);
            reload_req_finish(l->r, upto, RELOAD_REFUSED, "no, \"x\"");
            l->answered++;
        }
        usleep(1000);
    }
    return NULL;
}

static void test_request(void **st)
{
    (void)st;
    struct reload_req r;
    reload_req_init(&r);
    assert_false(reload_req_pending(&r));
    assert_false(reload_req_pending(NULL));
    enum reload_result res = RELOAD_OK;
    char msg[64] = "";
    /* Nobody answers: a timeout, and the request stays pending. */
    assert_int_equal(reload_req_run(&r, 50, &res, msg, sizeof(msg)), -1);
    assert_true(reload_req_pending(&r));
    struct loop l = {.r = &r};
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, loop_main, &l), 0);
    assert_int_equal(reload_req_run(&r, 10000, &res, msg, sizeof(msg)), 0);
    assert_int_equal(res, RELOAD_REFUSED);
    assert_string_equal(msg, "no, \"x\"");
    assert_int_equal(reload_req_run(&r, 10000, &res, msg, sizeof(msg)), 0);
    l.stop = 1;
    pthread_join(t, NULL);
    assert_false(reload_req_pending(&r));
    assert_true(l.answered >= 2);
    /* Closed (the loop stopped): a waiting or later request is answered
     * at once, never left to its timeout. */
    reload_req_close(&r);
    assert_int_equal(reload_req_run(&r, 60000, &res, msg, sizeof(msg)), 0);
    assert_int_equal(res, RELOAD_ERROR);
    assert_non_null(strstr(msg, "stopping"));
    reload_req_close(NULL);
    assert_string_equal(reload_result_name(RELOAD_OK), "ok");
    assert_string_equal(reload_result_name(RELOAD_ERROR), "error");
    assert_string_equal(reload_result_name(RELOAD_REFUSED), "refused");
    reload_req_destroy(&r);
}

int main(void)
{
    log_setup(LOG_ERROR, LOG_FORMAT_TEXT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_live_keys),
        cmocka_unit_test(test_diff),
        cmocka_unit_test(test_digest),
        cmocka_unit_test(test_prepare),
        cmocka_unit_test(test_prepare_inputs),
        cmocka_unit_test(test_request),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
