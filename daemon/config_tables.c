/*
 * config_tables.c - the product's own sections of processor.yaml (kafka,
 * topics, schemas, state, log, runtime) as tables for the engine. The
 * topics come from the rows of records.h.
 */
#include <string.h>

#include "config_impl.h"

static const char *const log_levels[] = {"error", "warn", "info", "debug",
                                         NULL};
static const char *const log_formats[] = {"text", "json", NULL};
static const char *const dlq_oversize_modes[] = {"truncate", "reference",
                                                 NULL};
static const char *const guarantees[] = {"at_least_once", "exactly_once",
                                         NULL};

static const char *kafka_check(const void *obj)
{
    const struct config_kafka *k = obj;
    if (k->bootstrap_servers && !*k->bootstrap_servers)
        return "bootstrap_servers must not be empty (use 'embedded' for the "
               "development broker)";
    if (k->group_id && !*k->group_id)
        return "group_id must not be empty";
    if (k->replication_factor == 0)
        return "replication_factor must be -1 (the broker's default) or at "
               "least 1";
    for (size_t i = 0; i < k->properties.n; i++)
        if (!strcmp(k->properties.v[i].key, "partition.assignment.strategy") &&
            strcmp(k->properties.v[i].value, "range") != 0)
            return "properties.partition.assignment.strategy must be `range`: "
                   "only it keeps partition p of every input topic on one "
                   "instance, where a customer's events meet its state";
    return NULL;
}

static const struct config_key kafka_keys[] = {
    CFG_KEY(struct config_kafka, bootstrap_servers, "bootstrap_servers",
            CFG_STRING, "embedded",
            "Kafka brokers as host:port[,host:port...]; `embedded` starts an "
            "in-process development broker instead."),
    CFG_KEY(struct config_kafka, group_id, "group_id", CFG_STRING,
            "dealstream",
            "Consumer group id; instances sharing it split the input "
            "partitions between them."),
    CFG_KEY(struct config_kafka, properties, "properties", CFG_STRMAP, "{}",
            "Extra librdkafka properties, passed through unchanged to every "
            "client (consumers, producer, admin): TLS and SASL settings "
            "such as `security.protocol`, `ssl.ca.pem`, `sasl.mechanism`, "
            "`sasl.password` go here; take secrets from "
            "`${file:...}`/`${env:...}`."),
    CFG_KEY_RANGE(struct config_kafka, embedded_partitions,
                  "embedded_partitions", CFG_INT, "4", 1, 256,
                  "Partitions per topic created by the embedded development "
                  "broker."),
    CFG_KEY(struct config_kafka, create_topics, "create_topics", CFG_BOOL,
            "true",
            "Create missing topics through the admin API at start (and with "
            "`dealstream create-topics`), with the partitions, replication "
            "factor and topic configs below. Input topics must have equal "
            "partition counts either way, or the daemon refuses to start."),
    CFG_KEY_RANGE(struct config_kafka, topic_partitions, "topic_partitions",
                  CFG_INT, "12", 1, 100000,
                  "Partitions of each topic it creates; the most instances of "
                  "the group that can share the work."),
    CFG_KEY_RANGE(struct config_kafka, replication_factor,
                  "replication_factor", CFG_INT, "-1", -1, 32,
                  "Replication factor of each topic it creates; -1 takes the "
                  "broker's `default.replication.factor`."),
    CFG_KEY(struct config_kafka, topic_configs, "topic_configs", CFG_STRMAP,
            "{}",
            "Topic configs of each topic it creates (for example "
            "`min.insync.replicas`, `retention.ms`), passed through unchanged."),
    CFG_KEY_RANGE(struct config_kafka, prefetch_budget, "prefetch_budget",
                  CFG_SIZE, "4MiB", 0, 1099511627776.0,
                  "Memory for input records fetched but not yet taken, over "
                  "all assigned partitions: sets the consumer's "
                  "`queued.max.messages.kbytes`, `queued.min.messages` and "
                  "`fetch.max.bytes` (unless set in `properties`) and wakes "
                  "the fetcher once a full queue is half empty. 0: "
                  "librdkafka's own bounds, as set in `properties` "
                  "(docs/OPERATIONS.md)."),
};

static const struct config_table kafka_table = {
    .name = "kafka",
    .keys = kafka_keys,
    .n_keys = CFG_COUNT(kafka_keys),
    .elem_size = sizeof(struct config_kafka),
    .check = kafka_check,
    .doc = "Connection to the Kafka cluster the daemon consumes from and "
           "produces to.",
};

/* Kafka's own rule for topic names. */
static bool topic_name_ok(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n > 249 || strcmp(s, ".") == 0 || strcmp(s, "..") == 0)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
              (s[i] >= '0' && s[i] <= '9') || s[i] == '.' || s[i] == '_' ||
              s[i] == '-'))
            return false;
    return true;
}

static const char *topics_check(const void *obj)
{
    const struct config_topics *t = obj;
    for (size_t i = 0; i < TOPIC_COUNT; i++)
        if (t->name[i] && !topic_name_ok(t->name[i]))
            return "topic names are 1 to 249 characters of [a-zA-Z0-9._-]";
    return NULL;
}

/* One key per row of records.h; the union's two views must agree. */
_Static_assert(sizeof(struct config_topics) == TOPIC_COUNT * sizeof(char *),
               "struct config_topics: one name per topic");
static const struct config_key topics_keys[] = {
#define DS_X_TOPIC_KEY(kind, key, topic, rec, file, keyf, demo, desc)        \
    CFG_KEY(struct config_topics, key, #key, CFG_STRING, topic, desc),
    DS_TOPICS(DS_X_TOPIC_KEY)
#undef DS_X_TOPIC_KEY
};

static const struct config_table topics_table = {
    .name = "topics",
    .keys = topics_keys,
    .n_keys = CFG_COUNT(topics_keys),
    .elem_size = sizeof(struct config_topics),
    .check = topics_check,
    .doc = "Kafka topic names; inputs are consumed, outputs produced.",
};

static const struct config_key schemas_keys[] = {
    CFG_KEY(struct config_schemas, dir, "dir", CFG_PATH, "schemas",
            "Folder of the reader schemas, one `<record>.avsc` per record "
            "name."),
    CFG_KEY(struct config_schemas, ids, "ids", CFG_STRMAP, "{}",
            "Writer schemas by id: each key is the integer id (1 to "
            "2147483647) carried in a message's framing, each value the "
            "`.avsc` file, which must exist."),
    CFG_KEY(struct config_schemas, registry_url, "registry_url", CFG_STRING,
            "",
            "Base URL of a schema registry speaking the Confluent REST API "
            "(`GET /schemas/ids/{id}`), asked for the writer schema of an "
            "id `ids` does not list, e.g. `http://registry:8081`. Empty: "
            "none, such records go to the DLQ."),
    CFG_KEY_RANGE(struct config_schemas, registry_timeout_ms,
                  "registry_timeout", CFG_DURATION, "2s", 100, 60000,
                  "Bound on one registry request; the processing loop "
                  "waits for it."),
};

static const struct config_table schemas_table = {
    .name = "schemas",
    .keys = schemas_keys,
    .n_keys = CFG_COUNT(schemas_keys),
    .elem_size = sizeof(struct config_schemas),
    .doc = "Avro schemas: messages name their writer schema by id, records "
           "are read with the reader schema of the same record name.",
};

static const struct config_key state_keys[] = {
    CFG_KEY(struct config_state, dir, "dir", CFG_PATH, "var/state",
            "Folder of the local state store (RocksDB)."),
    CFG_KEY_RANGE(struct config_state, batch_max_events, "batch_max_events",
                  CFG_INT, "5000", 1, 1000000,
                  "A batch is committed after this many events (only "
                  "with max_dirty_ms: 0)."),
    CFG_KEY_RANGE(struct config_state, batch_interval_ms, "batch_interval",
                  CFG_DURATION, "200ms", 1, 60000,
                  "A batch is committed at the latest this long after its "
                  "first event (only with max_dirty_ms: 0)."),
    CFG_KEY_RANGE(struct config_state, max_dirty_ms, "max_dirty_ms",
                  CFG_DURATION, "2s", 0, 600000,
                  "Write-back: the longest a state change may stay unwritten "
                  "(to RocksDB and the changelog, with the input offsets it "
                  "reflects); bounds the replay after a crash. Dirty objects "
                  "are written by a checkpoint at the latest this long after "
                  "the oldest change, so a hot object is written once per "
                  "checkpoint, not once per batch. 0: write-back off, a "
                  "checkpoint per batch (batch_max_events, batch_interval), "
                  "as before (docs/STATE.md)."),
    CFG_KEY_RANGE(struct config_state, max_dirty_bytes, "max_dirty_bytes",
                  CFG_SIZE, "64MiB", 0, 1099511627776.0,
                  "Write-back: a checkpoint is made early once the dirty "
                  "objects' estimated encoded size reaches this (0: no "
                  "bound); one also is once dirty objects fill half of "
                  "cache_max_entries."),
    CFG_KEY_RANGE(struct config_state, cache_max_entries, "cache_max_entries",
                  CFG_INT, "50000", 1, 100000000,
                  "Decoded state objects kept in memory between batches."),
    CFG_KEY_RANGE(struct config_state, encoded_cache_bytes, "encoded_cache",
                  CFG_SIZE, "128MiB", 0, 1099511627776.0,
                  "Memory for state objects pushed out of the decoded cache, "
                  "kept encoded so reading one back needs no RocksDB read, "
                  "counted with each one's cache entry and key; up to half "
                  "of it also holds decoded objects' last written bytes "
                  "(0: off)."),
    CFG_KEY_RANGE(struct config_state, block_cache_bytes, "block_cache",
                  CFG_SIZE, "64MiB", 1 << 20, 1099511627776.0,
                  "Size of the block cache shared by all partitions."),
    CFG_KEY_RANGE(struct config_state, write_buffer_bytes, "write_buffer",
                  CFG_SIZE, "16MiB", 1 << 16, 4294967296.0,
                  "Memtable size before RocksDB flushes it to disk."),
    CFG_KEY(struct config_state, sync_commit, "sync_commit", CFG_BOOL,
            "false",
            "Fsync the write-ahead log at every batch commit (survives power "
            "loss, costs latency)."),
    CFG_KEY(struct config_state, changelog, "changelog", CFG_BOOL, "true",
            "Write every state change to a compacted changelog topic too, "
            "and restore a partition's state from it when it is assigned "
            "to an instance whose disk lacks it (docs/STATE.md)."),
    CFG_KEY(struct config_state, changelog_topic, "changelog_topic",
            CFG_STRING, "",
            "Name of the changelog topic; empty: "
            "\"<kafka.group_id>-state-changelog\". Created like the "
            "repartition topics, with the inputs' partition count and "
            "cleanup.policy=compact."),
    CFG_KEY_RANGE(struct config_state, standby_replicas, "standby_replicas",
                  CFG_INT, "0", 0, 1000,
                  "Warm copies of partitions this instance does not own, kept "
                  "by tailing their changelog, so a fail-over restores only "
                  "the tail. 0: none; any value above 0: every partition not "
                  "owned here (without a custom assignor the members cannot "
                  "share them out; docs/STATE.md). Needs state.changelog."),
};

static const struct config_table state_table = {
    .name = "state",
    .keys = state_keys,
    .n_keys = CFG_COUNT(state_keys),
    .elem_size = sizeof(struct config_state),
    .doc = "Local state and how often it is committed together with the "
           "input offsets.",
};

static const struct config_key log_keys[] = {
    CFG_KEY_ENUM(struct config_log, level, "level", "info", log_levels,
                 "Least severe level that is logged."),
    CFG_KEY_ENUM(struct config_log, format, "format", "text", log_formats,
                 "Line format on stderr: readable text or one JSON object "
                 "per line, with `customer_id`, `topic`, `partition` and "
                 "`offset` as fields where a line is about a record."),
};

static const struct config_table log_table = {
    .name = "log",
    .keys = log_keys,
    .n_keys = CFG_COUNT(log_keys),
    .elem_size = sizeof(struct config_log),
    .doc = "Logging to stderr.",
};

static const struct config_key runtime_keys[] = {
    CFG_KEY_RANGE(struct config_runtime, idle_check_interval_ms,
                  "idle_check_interval", CFG_DURATION, "1s", 10, 3600000,
                  "How often processors check for idle meetings and periods "
                  "(wall clock)."),
    CFG_KEY_RANGE(struct config_runtime, shutdown_timeout_ms,
                  "shutdown_timeout", CFG_DURATION, "10s", 0, 3600000,
                  "Longest time spent draining and committing at shutdown."),
    CFG_KEY_ENUM(struct config_runtime, dlq_oversize, "dlq_oversize",
                 "truncate", dlq_oversize_modes,
                 "What a dead-letter record too large to produce keeps of "
                 "its value: `truncate` the first bytes that fit, "
                 "`reference` none (its __connect.errors.* headers say where "
                 "the original is). Either way the headers "
                 "dealstream.dlq.oversize and "
                 "dealstream.dlq.original_value_size say so."),
    CFG_KEY_RANGE(struct config_runtime, dlq_max_bytes, "dlq_max_bytes",
                  CFG_SIZE, "0", 0, 2147483647.0,
                  "Largest dead-letter record (key, value, headers); 0: the "
                  "producer's message.max.bytes. Set it below the DLQ "
                  "topic's max.message.bytes when that is smaller."),
};

static const struct config_table runtime_table = {
    .name = "runtime",
    .keys = runtime_keys,
    .n_keys = CFG_COUNT(runtime_keys),
    .elem_size = sizeof(struct config_runtime),
    .doc = "The processing loop.",
};

static const struct config_key processing_keys[] = {
    CFG_KEY_RANGE(struct config_processing, max_idle_ms, "max_idle_ms",
                  CFG_DURATION, "300ms", 0, 3600000,
                  "How long a partition group (partition p of every input "
                  "topic) with records waits for an input topic that has "
                  "none buffered before applying what it has in "
                  "event-time order anyway. Per group, never the whole "
                  "instance; a topic that stays quiet costs one wait. 0: "
                  "no waiting (records are applied as they arrive). See "
                  "TIME.md."),
    CFG_KEY_RANGE(struct config_processing, idle_topic_ms, "idle_topic_ms",
                  CFG_DURATION, "1m", 0, 86400000,
                  "A topic that brought a partition group no record for "
                  "this long drops out of the group's watermark (the "
                  "minimum over its topics of the largest event time "
                  "applied). 0: never."),
    CFG_KEY_RANGE(struct config_processing, max_buffered, "max_buffered",
                  CFG_INT, "10000", 1, 10000000,
                  "Records held for ordering in all groups together; at "
                  "this many, nothing waits for an empty topic."),
    CFG_KEY_RANGE(struct config_processing, max_lag_wait_ms,
                  "max_lag_wait_ms", CFG_DURATION, "5s", 0, 3600000,
                  "When a wait for an empty topic runs out but the broker "
                  "holds records of it that this instance has not fetched "
                  "yet (its position is below the partition's high "
                  "watermark, as last fetched), the group waits on, "
                  "max_idle_ms at a time, up to this long from the wait's "
                  "start (KIP-695). A topic that is caught up is never "
                  "waited for longer than max_idle_ms. 0: no lag "
                  "look-ups."),
    CFG_KEY_ENUM(struct config_processing, guarantee, "guarantee",
                 "at_least_once", guarantees,
                 "`at_least_once`: after a crash the outputs of the "
                 "uncommitted batches are sent again (same alert_id). "
                 "`exactly_once`: each batch's alerts, DLQ records, "
                 "changelog records and input offsets go out in one Kafka "
                 "transaction, so a `read_committed` consumer sees every "
                 "alert once; needs `state.changelog: true` and the "
                 "transactional producer defaults (no `transactional.id`, "
                 "`enable.idempotence` or `isolation.level` in "
                 "`kafka.properties`). Costs latency and throughput: "
                 "STATE.md, OPERATIONS.md."),
};

static const struct config_table processing_table = {
    .name = "processing",
    .keys = processing_keys,
    .n_keys = CFG_COUNT(processing_keys),
    .elem_size = sizeof(struct config_processing),
    .doc = "Event-time order across the co-partitioned input topics, "
           "and the delivery guarantee.",
};

static const struct config_key http_keys[] = {
    CFG_KEY(struct config_http, listen, "listen", CFG_STRING, "",
            "Address of the HTTP endpoint serving /metrics (Prometheus "
            "text format), /healthz and /readyz, as `host:port`, e.g. "
            "`127.0.0.1:9464`. Empty: no endpoint. See OPERATIONS.md."),
    CFG_KEY_RANGE(struct config_http, stall_ms, "stall_timeout",
                  CFG_DURATION, "30s", 1000, 3600000,
                  "/healthz answers 503 when the processing loop has not "
                  "turned for this long."),
    CFG_KEY(struct config_http, reload, "reload", CFG_BOOL, "false",
            "Accept `POST /-/reload`, which reloads the config file as "
            "SIGHUP does and answers with the outcome. Off by default: "
            "the endpoint has no authentication."),
};

static const struct config_table http_table = {
    .name = "http",
    .keys = http_keys,
    .n_keys = CFG_COUNT(http_keys),
    .elem_size = sizeof(struct config_http),
    .doc = "The HTTP endpoint for metrics and probes; off unless "
           "`listen` is set.",
};

static const struct config_key root_keys[] = {
    CFG_KEY_SUB(struct config, kafka, "kafka", CFG_SECTION, &kafka_table,
                "Kafka connection."),
    CFG_KEY_SUB(struct config, topics, "topics", CFG_SECTION, &topics_table,
                "Topic names."),
    CFG_KEY_SUB(struct config, schemas, "schemas", CFG_SECTION,
                &schemas_table, "Avro schemas."),
    CFG_KEY_SUB(struct config, state, "state", CFG_SECTION, &state_table,
                "Local state."),
    CFG_KEY_SUB(struct config, log, "log", CFG_SECTION, &log_table,
                "Logging."),
    CFG_KEY_SUB(struct config, runtime, "runtime", CFG_SECTION,
                &runtime_table, "Processing loop."),
    CFG_KEY_SUB(struct config, processing, "processing", CFG_SECTION,
                &processing_table, "Event-time order across topics."),
    CFG_KEY_SUB(struct config, http, "http", CFG_SECTION, &http_table,
                "Metrics and health endpoint."),
};

const struct config_table config_root_table = {
    .name = "",
    .keys = root_keys,
    .n_keys = CFG_COUNT(root_keys),
    .elem_size = sizeof(struct config),
};

const struct config_key config_enabled_key = {
    .name = "enabled",
    .type = CFG_BOOL,
    .def = "true",
    .desc = "Run this processor; `false` keeps it configured but idle.",
};

const struct config_key config_enabled_off_key = {
    .name = "enabled",
    .type = CFG_BOOL,
    .def = "false",
    .desc = "Run this processor; off unless set to `true`.",
};

/* ------------------------------------------------------------------------ */
