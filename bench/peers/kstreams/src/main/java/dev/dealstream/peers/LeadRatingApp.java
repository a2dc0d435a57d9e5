package dev.dealstream.peers;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.avro.generic.GenericRecord;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.Topology;
import org.apache.kafka.streams.processor.api.Processor;
import org.apache.kafka.streams.processor.api.ProcessorContext;
import org.apache.kafka.streams.processor.api.Record;
import org.apache.kafka.streams.processor.api.RecordMetadata;
import org.apache.kafka.streams.state.KeyValueStore;
import org.apache.kafka.streams.state.Stores;

/**
 * The Kafka Streams peer (bench/peers/README.md): the four input topics as
 * one source, one stateful processor over a persistent (RocksDB) key-value
 * store of customer graphs, a sink of LeadRerating records.
 *
 *   java -cp 'target/classes:target/lib/*' dev.dealstream.peers.LeadRatingApp
 *     --bootstrap HOST:PORT --schemas DIR --state-dir DIR [--app-id ID]
 *     [--topic-prefix P] [--output TOPIC] [--threads N]
 *     [--expect N] [--exit-when-idle MS]
 *
 * Input topics are P + the shipped names (sales.transcripts, ...). Without
 * --exit-when-idle it runs until SIGTERM. With it, it stops once it has
 * processed --expect events (or after MS without a new one once RUNNING) and
 * prints one JSON line: events, first_ms, last_ms (wall clock of the first
 * and last event processed), span_ms, running_after_ms (start to the first
 * RUNNING state: start-up, assignment and state restore).
 */
public final class LeadRatingApp {
    static final String STORE = "lead-graphs";
    static final String[] INPUTS = {"sales.transcripts", "sales.doc-annotations",
        "ops.iot-alerts", "ref.registry-changes"};

    static final AtomicLong EVENTS = new AtomicLong();
    static volatile long firstMs, lastMs;

    /** One stateful processor: the workload's section 4 per record. */
    static final class LeadRating implements Processor<String, Workload.Event, String, GenericRecord> {
        private final AvroCodec codec;
        private ProcessorContext<String, GenericRecord> ctx;
        private KeyValueStore<String, Workload.Graph> store;

        LeadRating(AvroCodec codec) {
            this.codec = codec;
        }

        @Override
        public void init(ProcessorContext<String, GenericRecord> context) {
            ctx = context;
            store = context.getStateStore(STORE);
        }

        @Override
        public void process(Record<String, Workload.Event> rec) {
            Workload.Event ev = rec.value();
            if (ev == null || ev.customerId == null || ev.customerId.isEmpty()) return;
            long n = EVENTS.incrementAndGet();
            long now = System.currentTimeMillis();
            if (n == 1) firstMs = now;
            lastMs = now;
            Workload.Graph g = store.get(ev.customerId);
            if (g == null) g = Workload.Graph.create(ev.customerId);
            double prevScore = g.score;
            int prev = Workload.handle(g, ev);
            if (prev >= 0) emit(g, ev, prev, prevScore, rec);
            store.put(ev.customerId, g);
        }

        private void emit(Workload.Graph g, Workload.Event ev, int prev, double prevScore,
                          Record<String, Workload.Event> rec) {
            GenericRecord r = codec.newRerating();
            RecordMetadata md = ctx.recordMetadata().orElseThrow();
            String tier = Workload.TIER_NAMES[g.tier];
            r.put("alert_id", alertId(ev.customerId, ev.eventId, tier));
            r.put("customer_id", ev.customerId);
            r.put("previous_tier", g.rated ? Workload.TIER_NAMES[prev] : null);
            r.put("tier", tier);
            r.put("previous_score", prevScore);
            r.put("score", g.score);
            List<GenericRecord> reasons = new ArrayList<>();
            for (Workload.Factor f : g.factors(Workload.MAX_REASONS)) {
                GenericRecord x = codec.newReason();
                x.put("factor", f.factor);
                x.put("node_type", f.nodeType);
                x.put("node_id", f.nodeId);
                x.put("contribution", f.contribution);
                reasons.add(x);
            }
            r.put("reasons", reasons);
            r.put("trigger_event_id", ev.eventId);
            r.put("source_topic", md.topic());
            r.put("source_partition", md.partition());
            r.put("source_offset", md.offset());
            r.put("event_time", ev.eventTime);
            r.put("trend", g.tier < prev ? "improving" : "declining");
            r.put("fit_score", g.fit);
            r.put("intent_score", g.intent);
            g.rated = true;
            ctx.forward(new Record<>(ev.customerId, r, rec.timestamp()));
        }
    }

    /** Deterministic: the same input gives the same id. */
    static String alertId(String customer, String eventId, String tier) {
        try {
            MessageDigest md = MessageDigest.getInstance("SHA-256");
            md.update(("rerating:" + tier + "\0" + customer + "\0" + eventId).getBytes(StandardCharsets.UTF_8));
            return HexFormat.of().formatHex(md.digest(), 0, 16);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    static Topology topology(AvroCodec codec, String prefix, String output) {
        String[] topics = new String[INPUTS.length];
        for (int i = 0; i < INPUTS.length; i++) topics[i] = prefix + INPUTS[i];
        Topology t = new Topology();
        t.addSource("inputs", Serdes.String().deserializer(), codec.eventDeserializer(), topics);
        t.addProcessor("lead-rating", () -> new LeadRating(codec), "inputs");
        t.addStateStore(Stores.keyValueStoreBuilder(Stores.persistentKeyValueStore(STORE),
                Serdes.String(), new GraphSerde()), "lead-rating");
        t.addSink("lead-ratings", output, Serdes.String().serializer(), codec.reratingSerializer(),
                "lead-rating");
        return t;
    }

    public static void main(String[] args) throws Exception {
        String bootstrap = null, schemas = null, stateDir = null, appId = "peer-kstreams";
        String prefix = "", output = null;
        int threads = 1;
        long expect = 0, idleMs = 0;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--bootstrap" -> bootstrap = args[++i];
                case "--schemas" -> schemas = args[++i];
                case "--state-dir" -> stateDir = args[++i];
                case "--app-id" -> appId = args[++i];
                case "--topic-prefix" -> prefix = args[++i];
                case "--output" -> output = args[++i];
                case "--threads" -> threads = Integer.parseInt(args[++i]);
                case "--expect" -> expect = Long.parseLong(args[++i]);
                case "--exit-when-idle" -> idleMs = Long.parseLong(args[++i]);
                default -> {
                    System.err.println("LeadRatingApp: unknown argument " + args[i]);
                    System.exit(64);
                }
            }
        }
        if (bootstrap == null || schemas == null || stateDir == null) {
            System.err.println("LeadRatingApp: --bootstrap, --schemas and --state-dir are required");
            System.exit(64);
        }
        if (output == null) output = prefix + "sales.lead-ratings";

        Properties p = new Properties();
        p.put(StreamsConfig.APPLICATION_ID_CONFIG, appId);
        p.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        p.put(StreamsConfig.STATE_DIR_CONFIG, stateDir);
        p.put(StreamsConfig.NUM_STREAM_THREADS_CONFIG, threads);
        // Tunings (bench/peers/README.md): commit as often as dealstream
        // seals a batch (its state.batch_interval, 200 ms) instead of the
        // at-least-once default of 30 s; read from the beginning.
        p.put(StreamsConfig.COMMIT_INTERVAL_MS_CONFIG, 200);
        p.put(StreamsConfig.consumerPrefix(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG), "earliest");

        KafkaStreams streams = new KafkaStreams(topology(new AvroCodec(schemas), prefix, output), p);
        CountDownLatch done = new CountDownLatch(1);
        streams.setUncaughtExceptionHandler(e -> {
            e.printStackTrace();
            done.countDown();
            return org.apache.kafka.streams.errors.StreamsUncaughtExceptionHandler
                    .StreamThreadExceptionResponse.SHUTDOWN_CLIENT;
        });
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            streams.close();
            done.countDown();
        }));
        long startMs = System.currentTimeMillis();
        java.util.concurrent.atomic.AtomicLong runningAt = new java.util.concurrent.atomic.AtomicLong();
        streams.setStateListener((now, old) -> {
            if (now == KafkaStreams.State.RUNNING)
                runningAt.compareAndSet(0, System.currentTimeMillis());
        });
        streams.start();
        if (idleMs <= 0) {
            done.await();
            return;
        }
        long lastSeen = -1, lastChange = System.currentTimeMillis();
        while (true) {
            if (done.await(50, TimeUnit.MILLISECONDS)) break;
            long n = EVENTS.get();
            long now = System.currentTimeMillis();
            if (n != lastSeen) {
                lastSeen = n;
                lastChange = now;
            }
            if (expect > 0 && n >= expect) break;
            // Idle: nothing new for MS once running (restored and assigned).
            long ra = runningAt.get();
            if (ra > 0 && now - Math.max(lastChange, ra) >= idleMs) break;
        }
        // A planned stop leaves the group, as dealstream and Quix do: Streams'
        // default keeps the member until the session times out (45 s), which
        // a restart in the same group would otherwise wait out.
        streams.close(org.apache.kafka.streams.CloseOptions.groupMembershipOperation(
                org.apache.kafka.streams.CloseOptions.GroupMembershipOperation.LEAVE_GROUP));
        long n = EVENTS.get();
        System.out.printf("{\"events\":%d,\"first_ms\":%d,\"last_ms\":%d,\"span_ms\":%d,"
                + "\"running_after_ms\":%d}%n", n, firstMs, lastMs, Math.max(1, lastMs - firstMs),
                runningAt.get() > 0 ? runningAt.get() - startMs : -1);
        System.exit(0);
    }
}
