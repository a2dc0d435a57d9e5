/*
 * gen.c - the benchmark's event generator and latency reader.
 *
 *   ds-bench-gen produce -c CFG --brokers B --events N --customers C
 *                [--zipf S] [--seed X] [--tag T] [--span-ms MS]
 *                [--rate R [--start-file PATH]] [--set K=V]...
 *   ds-bench-gen latency -c CFG --brokers B --since MS [--dump PATH]
 *                [--set K=V]...
 *   kcat ... -f '\n' | ds-bench-gen linetime
 *
 * `produce` writes a realistic mix of the five input records (IoT alerts,
 * registry changes, meeting transcripts, document annotations, opportunity
 * updates) over C customers, keyed by customer id, Avro-framed through the
 * daemon's own codec so the bytes are exactly what a real producer sends.
 * Customers are drawn uniformly or from a Zipf(S) law; transcripts come
 * from a pool of concurrent meetings, each a proper sequence of segments
 * ending with is_final. Without --rate it produces as fast as it can with
 * event times spread over the --span-ms before now. With --rate it encodes
 * every record first, then paces itself to R events/s and stamps each event
 * with the wall clock as it sends it, which is what the latency phase
 * needs; with --start-file it says "prepared" on stderr and starts its
 * clock only when PATH exists.
 *
 * `latency` reads the alert topics from the beginning and, for every alert
 * whose event_time is >= --since, takes latency = the alert record's Kafka
 * timestamp (CreateTime: when the daemon produced it) - its event_time (the
 * triggering input's, stamped with the wall clock by `produce --rate`).
 *
 * `linetime` counts the lines on stdin and the time from the first byte to
 * the last: piped after kcat, it times kcat's consumption without its
 * start-up and group join, as the other loops are timed.
 *
 * This is a tool beside the product, like kcat: it talks to librdkafka
 * directly so it can tune the producer for the benchmark.
 */
#include <getopt.h>
#include <jansson.h>
#include <librdkafka/rdkafka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "codec.h"
#include "config.h"
#include "log.h"
#include "now.h"
#include "pct.h"
#include "registry.h"

/* ---- small helpers -------------------------------------------------------- */

static uint64_t rng_state = 88172645463325252ull;

static uint64_t rnd(void)
{
    /* xorshift64*: reproducible for a given --seed */
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 2685821657736338717ull;
}

static uint32_t rnd_below(uint32_t n) { return (uint32_t)(rnd() % n); }
static double rnd_unit(void) { return (double)(rnd() >> 11) / 9007199254740992.0; }

#define PICK(arr) (arr)[rnd_below(sizeof(arr) / sizeof((arr)[0]))]

/* ---- customers ----------------------------------------------------------- */

struct keys {
    uint32_t n;
    double *cdf; /* Zipf cumulative weights, NULL for uniform */
};

static int keys_init(struct keys *k, uint32_t n, double zipf_s)
{
    k->n = n;
    k->cdf = NULL;
    if (zipf_s <= 0)
        return 0;
    k->cdf = malloc(sizeof(double) * n);
    if (!k->cdf)
        return -1;
    double sum = 0;
    for (uint32_t i = 0; i < n; i++) {
        sum += 1.0 / pow((double)(i + 1), zipf_s);
        k->cdf[i] = sum;
    }
    for (uint32_t i = 0; i < n; i++)
        k->cdf[i] /= sum;
    return 0;
}

/* A customer index; with Zipf, rank 0 is the hottest. Ranks are scattered
 * over ids by a multiplicative hash so hot keys do not sit side by side. */
static uint32_t keys_pick(const struct keys *k)
{
    uint32_t r;
    if (!k->cdf) {
        r = rnd_below(k->n);
    } else {
        double u = rnd_unit();
        uint32_t lo = 0, hi = k->n - 1;
        while (lo < hi) {
            uint32_t mid = lo + (hi - lo) / 2;
            if (k->cdf[mid] < u)
                lo = mid + 1;
            else
                hi = mid;
        }
        r = lo;
    }
    return (uint32_t)(((uint64_t)r * 2654435761u) % k->n);
}

/* ---- the mix -------------------------------------------------------------- */

static const char *const rep_en[] = {
    "Thanks for your time today. What are your priorities this quarter?",
    "Our product offers real-time monitoring and our solution scales with you.",
    "Our platform has the features your team asked about, and we offer training.",
    "How do you handle equipment downtime today?",
    "We can share an ROI analysis and a discount for a three year term.",
    "Our API and connector make the integration out of the box.",
    "All data is encrypted and we are ISO 27001 certified.",
    "The project plan has three milestones over twelve weeks.",
    "On response time, we guarantee a four hour on-site repair.",
    "Let me walk you through the dashboard and the reporting module.",
    "ok",
    "right",
    "Which departments would use it first?",
    "What does your current process look like?",
};
static const char *const cust_en[] = {
    "Honestly the price is too high, we are over budget this year.",
    "We need to replace our current system before the end of the year.",
    "We are also talking to MediCore and to Siemens about this.",
    "Budget is approved, the deadline is next quarter.",
    "How does it integrate with our existing system?",
    "Data security is our main concern, we are audited every year.",
    "Fine, let us continue.",
    "We had a repair timeout last month, it took three weeks.",
    "Rivalis quoted a lower price for the first year.",
    "That makes sense.",
    "How long to implement it across two sites?",
};
static const char *const rep_zh[] = {
    "王主任您好，今天主要想了解一下贵院目前的痛点。",
    "我们的产品支持远程运维，我们的方案性价比很高。",
    "我们公司在这个领域有十年经验，我们的系统很稳定。",
    "贵院目前在耗材管理上有哪些困难？",
    "关于等保三级，我们已经通过测评并有安全认证。",
    "我们可以提供折扣，三年的投资回报很清楚。",
    "关于响应速度，我们有七乘二十四小时服务。",
    "嗯嗯",
    "好的",
    "您关心的数据安全我们有加密和审计。",
    "接口和对接方案都是现成的，实施团队会驻场。",
};
static const char *const cust_zh[] = {
    "我们现在主要是医保DRG分组以后成本压力比较大。",
    "我们需要关注等保三级合规性。",
    "价格太高了，已经超预算了。",
    "预算已经批了，年底前要上线。",
    "迈迪科也来介绍过他们的方案。",
    "数据安全是我们最关心的。",
    "和现有系统怎么对接？",
    "上个月设备报修响应慢，维修超时好几天。",
    "嗯，可以继续。",
    "实施周期大概多久？",
};

static const char *const iot_types[] = {"vibration_anomaly", "downtime",
                                        "repair_ticket", "repair_overdue",
                                        "temperature_drift"};

struct meeting {
    uint32_t cust;
    uint32_t n_seg, seq;
    int64_t pos_ms;
    bool zh;
    uint64_t id;
};

struct gen {
    struct keys keys;
    const char *tag;
    struct meeting *meetings;
    uint32_t n_meetings;
    uint64_t next_meeting;
    uint64_t seq; /* event counter, for ids */
    char json[4096];
    char cust[32];
};

static void cust_id(struct gen *g, uint32_t idx)
{
    snprintf(g->cust, sizeof(g->cust), "cust-%07u", idx);
}

static void meeting_start(struct gen *g, struct meeting *m)
{
    m->cust = keys_pick(&g->keys);
    m->n_seg = 20 + rnd_below(41);
    m->seq = 0;
    m->pos_ms = 0;
    m->zh = rnd_below(2) == 0;
    m->id = g->next_meeting++;
}

/* Each builder fills g->json and returns the record name. Texts in the
 * pools hold no character that JSON needs escaped. */
static const char *gen_transcript(struct gen *g, int64_t t)
{
    struct meeting *m = &g->meetings[rnd_below(g->n_meetings)];
    cust_id(g, m->cust);
    bool rep = m->seq == 0 || rnd_below(100) < 55;
    const char *text = m->zh ? (rep ? PICK(rep_zh) : PICK(cust_zh))
                             : (rep ? PICK(rep_en) : PICK(cust_en));
    int64_t dur = 2000 + (int64_t)rnd_below(40000);
    uint32_t pct = m->seq * 100 / m->n_seg;
    const char *phase = pct < 30   ? "needs_discovery"
                        : pct < 60 ? "presentation"
                        : pct < 85 ? "negotiation"
                                   : "closing";
    bool final = m->seq + 1 == m->n_seg;
    snprintf(g->json, sizeof(g->json),
             "{\"event_id\":\"%s-ts-%llu\",\"customer_id\":\"%s\","
             "\"meeting_id\":\"%s-m-%llu\",\"rep_id\":\"rep-%u\",\"seq\":%u,"
             "\"speaker_id\":\"%s\",\"speaker_role\":\"%s\",\"start_ms\":%lld,"
             "\"end_ms\":%lld,\"text\":\"%s\",\"phase\":\"%s\","
             "\"is_final\":%s,\"event_time\":%lld,\"language\":\"%s\"}",
             g->tag, (unsigned long long)g->seq, g->cust, g->tag,
             (unsigned long long)m->id, m->cust % 500, m->seq,
             rep ? "rep" : "cust-speaker", rep ? "REP" : "CUSTOMER",
             (long long)m->pos_ms, (long long)(m->pos_ms + dur), text, phase,
             final ? "true" : "false", (long long)t, m->zh ? "zh" : "en");
    m->pos_ms += dur;
    m->seq++;
    if (final)
        meeting_start(g, m);
    return "TranscriptSegment";
}

static const char *gen_iot(struct gen *g, int64_t t)
{
    uint32_t c = keys_pick(&g->keys);
    cust_id(g, c);
    uint32_t sv = rnd_below(100);
    const char *sev = sv < 50 ? "INFO" : sv < 85 ? "WARNING" : "CRITICAL";
    snprintf(g->json, sizeof(g->json),
             "{\"event_id\":\"%s-iot-%llu\",\"customer_id\":\"%s\","
             "\"device_id\":\"dev-%u\",\"alert_type\":\"%s\","
             "\"severity\":\"%s\",\"count\":%u,\"value\":%.2f,"
             "\"event_time\":%lld}",
             g->tag, (unsigned long long)g->seq, g->cust, rnd_below(6),
             PICK(iot_types), sev, 1 + rnd_below(3), rnd_unit() * 20,
             (long long)t);
    return "IotAlert";
}

static const char *gen_registry(struct gen *g, int64_t t)
{
    static const struct {
        const char *change, *entity, *prefix;
    } kinds[] = {
        {"EQUITY_CHANGE", "COMPANY", "self"},
        {"TENDER_PUBLISHED", "TENDER", "tender"},
        {"TENDER_AWARDED", "TENDER", "tender"},
        {"CAPACITY_EXPANSION", "COMPANY", "self"},
        {"CONTACT_JOINED", "CONTACT", "contact"},
        {"CONTACT_MOVED", "CONTACT", "contact"},
        {"CONTACT_LEFT", "CONTACT", "contact"},
        {"SUPPLIER_LINKED", "SUPPLIER", "supplier"},
        {"COMPETITOR_LINKED", "COMPETITOR", "comp"},
        {"POLICY_LINKED", "POLICY", "policy"},
        {"RELATION_REMOVED", "SUPPLIER", "supplier"},
    };
    static const char *const comps[] = {"MediCore", "Rivalis", "Globex"};
    uint32_t c = keys_pick(&g->keys);
    cust_id(g, c);
    uint32_t k = rnd_below(sizeof(kinds) / sizeof(kinds[0]));
    char entity[64];
    const char *name = "Entity";
    if (strcmp(kinds[k].prefix, "self") == 0) {
        snprintf(entity, sizeof(entity), "%s", g->cust);
        name = "Customer Group";
    } else if (strcmp(kinds[k].prefix, "comp") == 0) {
        name = PICK(comps);
        snprintf(entity, sizeof(entity), "comp-%s", name);
    } else {
        snprintf(entity, sizeof(entity), "%s-%u", kinds[k].prefix,
                 rnd_below(8));
    }
    snprintf(g->json, sizeof(g->json),
             "{\"event_id\":\"%s-reg-%llu\",\"customer_id\":\"%s\","
             "\"change_type\":\"%s\",\"entity_id\":\"%s\","
             "\"entity_type\":\"%s\",\"entity_name\":\"%s\","
             "\"attributes\":{\"source\":\"provincial registry\","
             "\"winner\":\"%s\"},\"amount\":%.1f,\"event_time\":%lld}",
             g->tag, (unsigned long long)g->seq, g->cust, kinds[k].change,
             entity, kinds[k].entity, name,
             rnd_below(2) ? "comp-MediCore" : g->cust,
             (double)rnd_below(1000), (long long)t);
    return "RegistryChange";
}

static const char *gen_annotation(struct gen *g, int64_t t)
{
    static const struct {
        const char *doc_type, *source, *role, *text;
    } docs[] = {
        {"VISIT_REPORT", "OCR_HANDWRITING", "rep",
         "拜访心内科王主任：科室关注医保DRG分组后的成本压力，提到设备报修响应慢。"},
        {"VISIT_REPORT", "OCR_HANDWRITING", "rep",
         "拜访设备科：讨论了医保DRG分组和耗材SPD系统的对接，下次带方案。"},
        {"INTERVIEW_NOTE", "OCR_HANDWRITING", "department_director",
         "外科李主任访谈：计划扩大日间手术规模，院感监测要做到实时预警。"},
        {"INTERVIEW_NOTE", "PDF_COMMENT", "department_director",
         "设备科陈主任：高值耗材追溯是明年重点，远程会诊平台也在规划。"},
        {"QUOTE", "PDF_HIGHLIGHT", "CFO",
         "Payment terms: net 60, installment over three years."},
        {"EMAIL", "TEXT", "department_director",
         "上周的维修超时问题还没有解决，请尽快安排工程师。"},
        {"PROPOSAL", "PDF_COMMENT", "rep",
         "Proposal v2 with the consumables traceability module."},
    };
    uint32_t c = keys_pick(&g->keys);
    cust_id(g, c);
    uint32_t k = rnd_below(sizeof(docs) / sizeof(docs[0]));
    snprintf(g->json, sizeof(g->json),
             "{\"event_id\":\"%s-doc-%llu\",\"customer_id\":\"%s\","
             "\"rep_id\":\"rep-%u\",\"opportunity_id\":\"opp-%s-%u\","
             "\"document_id\":\"doc-%llu\",\"doc_type\":\"%s\","
             "\"source\":\"%s\",\"author_role\":\"%s\",\"text\":\"%s\","
             "\"event_time\":%lld}",
             g->tag, (unsigned long long)g->seq, g->cust, c % 500, g->cust,
             c % 2, (unsigned long long)g->seq, docs[k].doc_type,
             docs[k].source, docs[k].role, docs[k].text, (long long)t);
    return "DocumentAnnotation";
}

static const char *gen_opportunity(struct gen *g, int64_t t)
{
    static const char *const stages[] = {"discovery", "solution", "proposal",
                                         "negotiation", "closing"};
    uint32_t c = keys_pick(&g->keys);
    cust_id(g, c);
    uint32_t s = rnd_below(5);
    char from[32] = "null";
    if (s > 0)
        snprintf(from, sizeof(from), "\"%s\"", stages[s - 1]);
    snprintf(g->json, sizeof(g->json),
             "{\"event_id\":\"%s-opp-%llu\",\"customer_id\":\"%s\","
             "\"opportunity_id\":\"opp-%s-%u\",\"rep_id\":\"rep-%u\","
             "\"industry\":\"medical\",\"stage_from\":%s,\"stage_to\":\"%s\","
             "\"amount\":%.1f,\"event_time\":%lld}",
             g->tag, (unsigned long long)g->seq, g->cust, g->cust, c % 2,
             c % 500, from, stages[s], 100000.0 + rnd_below(2000000),
             (long long)t);
    return "OpportunityUpdate";
}

/* The mix, in percent: IoT 35, registry 20, transcripts 30, annotations
 * 10, opportunity updates 5. */
static const char *gen_next(struct gen *g, int64_t t, int *topic)
{
    uint32_t r = rnd_below(100);
    g->seq++;
    if (r < 35) {
        *topic = 2;
        return gen_iot(g, t);
    }
    if (r < 55) {
        *topic = 3;
        return gen_registry(g, t);
    }
    if (r < 85) {
        *topic = 0;
        return gen_transcript(g, t);
    }
    if (r < 95) {
        *topic = 1;
        return gen_annotation(g, t);
    }
    *topic = 4;
    return gen_opportunity(g, t);
}

/* ---- produce -------------------------------------------------------------- */

static void dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    (void)rk;
    if (m->err)
        (*(uint64_t *)opaque)++;
}

static rd_kafka_t *make_producer(const char *brokers, bool paced,
                                 uint64_t *failed)
{
    char e[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    const char *kv[][2] = {
        {"bootstrap.servers", brokers},
        {"compression.codec", paced ? "none" : "lz4"},
        /* Paced: 5 ms, as a typical upstream producer (the Java client's
         * default); it counts in the measured latency, since an input's
         * timestamp is taken when it is produced. Shorter lingers cost a
         * request per record and partition, and on 2 cores that CPU is
         * taken from the daemon. */
        {"linger.ms", paced ? "5" : "20"},
        {"batch.num.messages", "10000"},
        {"queue.buffering.max.messages", "1000000"},
        {"queue.buffering.max.kbytes", "1048576"},
        {NULL, NULL}};
    for (size_t i = 0; kv[i][0]; i++)
        if (rd_kafka_conf_set(conf, kv[i][0], kv[i][1], e, sizeof(e))) {
            fprintf(stderr, "gen: %s\n", e);
            rd_kafka_conf_destroy(conf);
            return NULL;
        }
    rd_kafka_conf_set_opaque(conf, failed);
    rd_kafka_conf_set_dr_msg_cb(conf, dr_cb);
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, e, sizeof(e));
    if (!rk)
        fprintf(stderr, "gen: %s\n", e);
    return rk;
}

struct opts {
    const char *config, *brokers, *tag;
    const char *dump; /* latency: "timestamp latency" per sample */
    const char *start_file; /* paced: prepare, then wait for it to exist */
    uint64_t events;
    uint32_t customers;
    double zipf, rate;
    int64_t span_ms, since;
    uint64_t seed;
    const char **sets; /* --set K=V, as the daemon takes them (topic names) */
    size_t n_sets;
};

static int load_config(const struct opts *o, struct config **cfg)
{
    struct config_errors errs = {0};
    if (config_load(o->config, o->sets, o->n_sets, registry_plugins(),
                    registry_count, cfg, &errs) != 0) {
        config_errors_print(&errs, stderr);
        config_errors_free(&errs);
        return -1;
    }
    return 0;
}

/* Encode one generated record with event_time t: its Avro bytes in *out,
 * its key and topic index. */
static int encode_next(struct gen *g, struct codec *codec, int64_t t,
                       struct buf *out, char *key, size_t key_size, int *topic)
{
    char err[512];
    const char *record = gen_next(g, t, topic);
    if (codec_json_to_message(codec, record, g->json, out, key, key_size, err,
                              sizeof(err)) != 0) {
        fprintf(stderr, "gen: %s: %s\n  %s\n", record, err, g->json);
        return -1;
    }
    return 0;
}

static int produce_one(rd_kafka_t *rk, const char *topic, const char *key,
                       size_t key_len, const void *value, size_t len)
{
    for (;;) {
        rd_kafka_resp_err_t e = rd_kafka_producev(
            rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_KEY(key, key_len),
            RD_KAFKA_V_VALUE((void *)value, len),
            RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
        if (!e)
            return 0;
        if (e != RD_KAFKA_RESP_ERR__QUEUE_FULL) {
            fprintf(stderr, "gen: produce: %s\n", rd_kafka_err2str(e));
            return -1;
        }
        rd_kafka_poll(rk, 10);
    }
}

/* ---- paced: encoded first, stamped when sent ---------------------------- */

/* Generating a record (JSON text, parsed and Avro-encoded by the codec)
 * costs ~10 us; at 40k events/s that is 40 % of a core taken from the
 * daemon on a 2-core machine, and it showed in the latency it measures. So
 * the paced phase encodes every record before its clock starts, with a
 * placeholder event_time, and writes the wall clock into those bytes when
 * the record is sent. An Avro long is a zigzag varint; every time between
 * 2^34 ms (1970) and 2^41 ms (2039) takes 6 bytes, so the stamp fits the
 * placeholder's place exactly. */
#define STAMP_LEN 6
static const int64_t stamp_placeholder = 0x1F2E3D4C5B6; /* 2037, distinctive */

static bool stamp_encode(int64_t ms, uint8_t out[STAMP_LEN])
{
    uint64_t z = ((uint64_t)ms << 1) ^ (uint64_t)(ms >> 63);
    if (z < (1ull << 35) || z >= (1ull << 42))
        return false;
    for (int i = 0; i < STAMP_LEN; i++, z >>= 7)
        out[i] = (uint8_t)(z & 0x7f) | (i < STAMP_LEN - 1 ? 0x80 : 0);
    return true;
}

struct prepared {
    size_t at;          /* key, then value, in the arena */
    uint32_t value_len;
    uint32_t stamp_at;  /* the placeholder's offset in the value */
    uint8_t key_len, topic;
};

static int prepare(struct gen *g, struct codec *codec, uint64_t n,
                   struct prepared *recs, struct buf *arena)
{
    uint8_t mark[STAMP_LEN];
    struct buf out;
    int rc = -1;
    buf_init(&out);
    stamp_encode(stamp_placeholder, mark);
    for (uint64_t i = 0; i < n; i++) {
        char key[64];
        int topic;
        if (encode_next(g, codec, stamp_placeholder, &out, key, sizeof(key),
                        &topic) != 0)
            goto out;
        const uint8_t *hit = memmem(out.data, out.len, mark, STAMP_LEN);
        if (!hit || memmem(hit + 1, out.len - (size_t)(hit + 1 - out.data),
                           mark, STAMP_LEN)) {
            fprintf(stderr, "gen: record %llu: event_time placeholder found "
                            "%s\n", (unsigned long long)i,
                    hit ? "twice" : "nowhere");
            goto out;
        }
        size_t key_len = strlen(key);
        recs[i] = (struct prepared){.at = arena->len,
                                    .value_len = (uint32_t)out.len,
                                    .stamp_at = (uint32_t)(hit - out.data),
                                    .key_len = (uint8_t)key_len,
                                    .topic = (uint8_t)topic};
        buf_append(arena, key, key_len);
        buf_append(arena, out.data, out.len);
    }
    rc = 0;
out:
    buf_free(&out);
    return rc;
}

/* Preparing takes seconds; a consumer started before it would see an idle
 * topic, so the caller starts its daemon once this says "prepared" and
 * lets the clock start by creating the file. */
static int wait_for_file(const char *path)
{
    fprintf(stderr, "gen: prepared; waiting for %s\n", path);
    for (int i = 0; i < 60000; i++) {
        if (access(path, F_OK) == 0)
            return 0;
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    fprintf(stderr, "gen: %s did not appear in 10 minutes\n", path);
    return -1;
}

/* Connect and learn the partitions before the clock starts: the first
 * records would otherwise wait for that and count it as the daemon's
 * latency. */
static void warm_metadata(rd_kafka_t *rk, const char *const topics[5])
{
    for (int t = 0; t < 5; t++) {
        const rd_kafka_metadata_t *md = NULL;
        rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, topics[t], NULL);
        if (rd_kafka_metadata(rk, 0, rkt, &md, 10000) == 0)
            rd_kafka_metadata_destroy(md);
        rd_kafka_topic_destroy(rkt);
    }
}

static int produce_paced(rd_kafka_t *rk, const char *const topics[5],
                         const struct prepared *recs, struct buf *arena,
                         uint64_t n, double rate)
{
    double start = now_mono_s();
    for (uint64_t i = 0; i < n; i++) {
        /* Sleep a millisecond at a time and then send what is due in one
         * burst: spinning or sleeping per event would take a core from the
         * daemon on a 2-core machine and inflate its latency. */
        double due = start + (double)i / rate;
        double now = now_mono_s();
        if (now < due) {
            double wait = due - now < 0.001 ? 0.001 : due - now;
            struct timespec ts = {0, (long)(wait * 1e9)};
            rd_kafka_poll(rk, 0);
            nanosleep(&ts, NULL);
        }
        const struct prepared *r = &recs[i];
        uint8_t *key = arena->data + r->at, *value = key + r->key_len;
        if (!stamp_encode(now_wall_ms(), value + r->stamp_at)) {
            fprintf(stderr, "gen: the clock is outside 1970..2039\n");
            return -1;
        }
        if (produce_one(rk, topics[r->topic], (const char *)key, r->key_len,
                        value, r->value_len) != 0)
            return -1;
        if ((i & 1023) == 0)
            rd_kafka_poll(rk, 0);
    }
    return 0;
}

/* ---- as fast as it can --------------------------------------------------- */

static int produce_fast(rd_kafka_t *rk, const char *const topics[5],
                        struct gen *g, struct codec *codec, uint64_t n,
                        int64_t t0, int64_t span_ms)
{
    struct buf out;
    int rc = -1;
    buf_init(&out);
    for (uint64_t i = 0; i < n; i++) {
        int64_t t = t0 - span_ms +
                    (int64_t)((double)span_ms * (double)i / (double)n);
        char key[64];
        int topic;
        if (encode_next(g, codec, t, &out, key, sizeof(key), &topic) != 0 ||
            produce_one(rk, topics[topic], key, strlen(key), out.data,
                        out.len) != 0)
            goto out;
        if ((i & 1023) == 0)
            rd_kafka_poll(rk, 0);
    }
    rc = 0;
out:
    buf_free(&out);
    return rc;
}

static int cmd_produce(const struct opts *o, const struct config *cfg)
{
    int rc = 1;
    char err[512];
    struct codec *codec = NULL;
    struct buf arena;
    struct prepared *recs = NULL;
    uint64_t failed = 0;
    struct gen g = {.tag = o->tag};
    buf_init(&arena);
    const char *const topics[5] = {
        cfg->topics.transcripts, cfg->topics.doc_annotations,
        cfg->topics.iot_alerts, cfg->topics.registry_changes,
        cfg->topics.opportunity_updates};
    rd_kafka_t *rk = make_producer(o->brokers, o->rate > 0, &failed);
    if (!rk)
        goto out;
    if (codec_open(&cfg->schemas, &codec, err, sizeof(err)) != 0) {
        fprintf(stderr, "gen: %s\n", err);
        goto out;
    }
    if (keys_init(&g.keys, o->customers, o->zipf) != 0)
        goto out;
    g.n_meetings = o->customers < 1000 ? o->customers : 1000;
    g.meetings = calloc(g.n_meetings, sizeof(*g.meetings));
    if (!g.meetings)
        goto out;
    for (uint32_t i = 0; i < g.n_meetings; i++)
        meeting_start(&g, &g.meetings[i]);

    if (o->rate > 0) {
        recs = calloc(o->events ? o->events : 1, sizeof(*recs));
        if (!recs || prepare(&g, codec, o->events, recs, &arena) != 0)
            goto out;
        warm_metadata(rk, topics);
        if (o->start_file && wait_for_file(o->start_file) != 0)
            goto out;
    }
    /* The clock starts here, after any preparation. */
    int64_t t0 = now_wall_ms();
    double start = now_mono_s();
    if (o->rate > 0 ? produce_paced(rk, topics, recs, &arena, o->events, o->rate)
                    : produce_fast(rk, topics, &g, codec, o->events, t0,
                                   o->span_ms))
        goto out;
    if (rd_kafka_flush(rk, 120000) != RD_KAFKA_RESP_ERR_NO_ERROR) {
        fprintf(stderr, "gen: flush timed out\n");
        goto out;
    }
    double secs = now_mono_s() - start;
    if (failed) {
        fprintf(stderr, "gen: %llu records not delivered\n",
                (unsigned long long)failed);
        goto out;
    }
    printf("{\"produced\":%llu,\"seconds\":%.3f,\"per_s\":%.0f,"
           "\"first_event_time\":%lld}\n",
           (unsigned long long)o->events, secs,
           secs > 0 ? (double)o->events / secs : 0.0, (long long)t0);
    rc = 0;
out:
    if (rk)
        rd_kafka_destroy(rk);
    codec_free(codec);
    buf_free(&arena);
    free(recs);
    free(g.keys.cdf);
    free(g.meetings);
    return rc;
}

/* ---- latency -------------------------------------------------------------- */

static int cmd_latency(const struct opts *o, const struct config *cfg)
{
    int rc = 1;
    char e[512];
    struct codec *codec = NULL;
    struct buf js;
    buf_init(&js);
    int64_t *lat = NULL;
    size_t n = 0, cap = 0;
    FILE *dump = o->dump ? fopen(o->dump, "w") : NULL;
    uint64_t seen = 0;
    const char *topics[] = {cfg->topics.lead_ratings, cfg->topics.coaching_alerts};
    rd_kafka_topic_partition_list_t *parts = rd_kafka_topic_partition_list_new(64);
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_t *rk = NULL;
    if (rd_kafka_conf_set(conf, "bootstrap.servers", o->brokers, e, sizeof(e)) ||
        rd_kafka_conf_set(conf, "group.id", "ds-bench-latency", e, sizeof(e)) ||
        rd_kafka_conf_set(conf, "enable.partition.eof", "true", e, sizeof(e)) ||
        rd_kafka_conf_set(conf, "enable.auto.commit", "false", e, sizeof(e))) {
        fprintf(stderr, "gen: %s\n", e);
        rd_kafka_conf_destroy(conf);
        goto out;
    }
    rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, e, sizeof(e));
    if (!rk) {
        fprintf(stderr, "gen: %s\n", e);
        rd_kafka_conf_destroy(conf);
        goto out;
    }
    rd_kafka_poll_set_consumer(rk);
    if (codec_open(&cfg->schemas, &codec, e, sizeof(e)) != 0) {
        fprintf(stderr, "gen: %s\n", e);
        goto out;
    }
    for (size_t t = 0; t < 2; t++) {
        const rd_kafka_metadata_t *md = NULL;
        rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, topics[t], NULL);
        rd_kafka_resp_err_t ke = rd_kafka_metadata(rk, 0, rkt, &md, 10000);
        rd_kafka_topic_destroy(rkt);
        if (ke || md->topic_cnt != 1) {
            fprintf(stderr, "gen: metadata of %s: %s\n", topics[t],
                    rd_kafka_err2str(ke));
            if (md)
                rd_kafka_metadata_destroy(md);
            goto out;
        }
        for (int p = 0; p < md->topics[0].partition_cnt; p++)
            rd_kafka_topic_partition_list_add(parts, topics[t], p)->offset =
                RD_KAFKA_OFFSET_BEGINNING;
        rd_kafka_metadata_destroy(md);
    }
    if (rd_kafka_assign(rk, parts)) {
        fprintf(stderr, "gen: assign failed\n");
        goto out;
    }
    int eofs = 0;
    double idle_since = now_mono_s();
    while (eofs < parts->cnt && now_mono_s() - idle_since < 10) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 200);
        if (!m)
            continue;
        idle_since = now_mono_s();
        if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
            eofs++;
        } else if (!m->err) {
            rd_kafka_timestamp_type_t tt;
            int64_t ts = rd_kafka_message_timestamp(m, &tt);
            seen++;
            if (codec_avro_to_json(codec, m->payload, m->len, &js, e,
                                   sizeof(e)) == 0) {
                json_t *root = json_loadb((const char *)js.data, js.len, 0, NULL);
                json_t *et = root ? json_object_get(root, "event_time") : NULL;
                if (json_is_integer(et) && json_integer_value(et) >= o->since) {
                    if (n == cap) {
                        cap = cap ? cap * 2 : 4096;
                        int64_t *v = realloc(lat, cap * sizeof(*v));
                        if (!v) {
                            json_decref(root);
                            rd_kafka_message_destroy(m);
                            goto out;
                        }
                        lat = v;
                    }
                    lat[n++] = ts - json_integer_value(et);
                    if (dump)
                        fprintf(dump, "%lld %lld\n", (long long)ts,
                                (long long)(ts - json_integer_value(et)));
                }
                json_decref(root);
            }
        }
        rd_kafka_message_destroy(m);
    }
    pct_sort(lat, n);
    printf("{\"alerts_read\":%llu,\"samples\":%zu,\"p50_ms\":%.0f,"
           "\"p99_ms\":%.0f,\"p999_ms\":%.0f,\"max_ms\":%.0f}\n",
           (unsigned long long)seen, n, pct_of(lat, n, 0.5), pct_of(lat, n, 0.99),
           pct_of(lat, n, 0.999), pct_of(lat, n, 1.0));
    rc = 0;
out:
    if (rk) {
        rd_kafka_consumer_close(rk);
        rd_kafka_destroy(rk);
    }
    rd_kafka_topic_partition_list_destroy(parts);
    codec_free(codec);
    buf_free(&js);
    free(lat);
    if (dump)
        fclose(dump);
    return rc;
}

/* ---- linetime ------------------------------------------------------------ */

static int cmd_linetime(void)
{
    static char chunk[1 << 16];
    unsigned long long lines = 0;
    double first = 0, last = 0;
    size_t got;
    while ((got = fread(chunk, 1, sizeof(chunk), stdin)) > 0) {
        double now = now_mono_s();
        if (first == 0)
            first = now;
        last = now;
        for (char *p = chunk; (p = memchr(p, '\n', (size_t)(chunk + got - p)));
             p++)
            lines++;
    }
    double secs = last - first;
    printf("{\"lines\":%llu,\"seconds\":%.3f,\"per_s\":%.0f}\n", lines, secs,
           secs > 0 ? (double)lines / secs : 0.0);
    return 0;
}

/* ---- main ----------------------------------------------------------------- */

int main(int argc, char **argv)
{
    static const struct option lopts[] = {
        {"config", required_argument, 0, 'c'},
        {"brokers", required_argument, 0, 'b'},
        {"events", required_argument, 0, 'n'},
        {"customers", required_argument, 0, 'k'},
        {"zipf", required_argument, 0, 'z'},
        {"rate", required_argument, 0, 'r'},
        {"span-ms", required_argument, 0, 'S'},
        {"since", required_argument, 0, 's'},
        {"seed", required_argument, 0, 'x'},
        {"tag", required_argument, 0, 't'},
        {"dump", required_argument, 0, 'd'},
        {"start-file", required_argument, 0, 'F'},
        {"set", required_argument, 0, 'o'},
        {0, 0, 0, 0}};
    struct opts o = {.events = 100000, .customers = 100000, .tag = "b",
                     .span_ms = 7LL * 86400000, .seed = 1};
    const char *usage =
        "usage: ds-bench-gen linetime\n"
        "       ds-bench-gen produce|latency -c CFG --brokers B [--events N]\n"
        "       [--customers N] [--zipf S] [--rate R] [--span-ms MS]\n"
        "       [--since MS] [--seed X] [--tag T] [--dump PATH]\n"
        "       [--start-file PATH] [--set K=V]...\n";
    if (argc < 2) {
        fputs(usage, stderr);
        return 64;
    }
    const char *mode = argv[1];
    if (strcmp(mode, "linetime") == 0)
        return cmd_linetime();
    int ch;
    o.sets = calloc((size_t)argc, sizeof(char *));
    optind = 2;
    while ((ch = getopt_long(argc, argv, "c:", lopts, NULL)) != -1) {
        switch (ch) {
        case 'c': o.config = optarg; break;
        case 'b': o.brokers = optarg; break;
        case 'n': o.events = strtoull(optarg, NULL, 10); break;
        case 'k': o.customers = (uint32_t)strtoul(optarg, NULL, 10); break;
        case 'z': o.zipf = strtod(optarg, NULL); break;
        case 'r': o.rate = strtod(optarg, NULL); break;
        case 'S': o.span_ms = strtoll(optarg, NULL, 10); break;
        case 's': o.since = strtoll(optarg, NULL, 10); break;
        case 'x': o.seed = strtoull(optarg, NULL, 10); break;
        case 't': o.tag = optarg; break;
        case 'd': o.dump = optarg; break;
        case 'F': o.start_file = optarg; break;
        case 'o': o.sets[o.n_sets++] = optarg; break;
        default: fputs(usage, stderr); return 64;
        }
    }
    if (!o.config || !o.brokers || o.customers == 0) {
        fputs(usage, stderr);
        return 64;
    }
    rng_state ^= o.seed * 0x9E3779B97F4A7C15ull;
    if (!rng_state)
        rng_state = 1;
    log_setup(LOG_WARN, LOG_FORMAT_TEXT);
    struct config *cfg = NULL;
    if (load_config(&o, &cfg) != 0)
        return 78;
    int rc;
    if (strcmp(mode, "produce") == 0)
        rc = cmd_produce(&o, cfg);
    else if (strcmp(mode, "latency") == 0)
        rc = cmd_latency(&o, cfg);
    else {
        fputs(usage, stderr);
        rc = 64;
    }
    config_free(cfg);
    free(o.sets);
    return rc;
}
