package dev.dealstream.peers;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The lead-rating workload of bench/peers/WORKLOAD.md: the parameters (the
 * shipped processor.yaml's lead_rating section), the per-customer graph and
 * the scoring over it. Pure computation: no Kafka, no clock. Section numbers
 * in the comments are WORKLOAD.md's.
 */
final class Workload {
    private Workload() {}

    // ---- 1. parameters --------------------------------------------------
    static final int FIT = 0, INTENT = 1;
    static final long DAY = 86_400_000L;

    record Spec(String name, double weight, long halfLife, double saturation, int part) {}

    static final Spec[] SPECS = {
        new Spec("registry.CAPACITY_EXPANSION", 60, 180 * DAY, 70, FIT),
        new Spec("registry.EQUITY_CHANGE", 20, 180 * DAY, 30, FIT),
        new Spec("registry.TENDER_PUBLISHED", 40, 90 * DAY, 60, FIT),
        new Spec("registry.TENDER_AWARDED", 10, 180 * DAY, 20, FIT),
        new Spec("registry.TENDER_AWARDED_TO_COMPETITOR", -30, 180 * DAY, 40, FIT),
        new Spec("registry.SUPPLIER_LINKED", 15, 365 * DAY, 30, FIT),
        new Spec("registry.POLICY_LINKED", 20, 365 * DAY, 30, FIT),
        new Spec("registry.COMPETITOR_LINKED", -10, 365 * DAY, 25, FIT),
        new Spec("registry.CONTACT_JOINED", 15, 90 * DAY, 30, INTENT),
        new Spec("registry.CONTACT_MOVED", 40, 90 * DAY, 50, INTENT),
        new Spec("registry.CONTACT_LEFT", -20, 90 * DAY, 40, INTENT),
        new Spec("iot.vibration_anomaly.CRITICAL", 15, 14 * DAY, 60, INTENT),
        new Spec("iot.vibration_anomaly.WARNING", 6, 14 * DAY, 30, INTENT),
        new Spec("iot.downtime.CRITICAL", 12, 14 * DAY, 50, INTENT),
        new Spec("iot.*.CRITICAL", 8, 14 * DAY, 30, INTENT),
        new Spec("iot.*.WARNING", 3, 14 * DAY, 15, INTENT),
        new Spec("iot.*.INFO", 1, 7 * DAY, 6, INTENT),
        new Spec("annotation.quote.cfo_payment_terms", 25, 30 * DAY, 30, INTENT),
        new Spec("transcript.need", 10, 30 * DAY, 30, INTENT),
        new Spec("transcript.budget", 15, 30 * DAY, 25, INTENT),
        new Spec("transcript.timeline", 10, 30 * DAY, 20, INTENT),
        new Spec("transcript.competitor", 5, 60 * DAY, 15, INTENT),
    };
    private static final Map<String, Integer> SPEC_BY_NAME = new HashMap<>();
    static {
        for (int i = 0; i < SPECS.length; i++)
            SPEC_BY_NAME.putIfAbsent(SPECS[i].name(), i);
    }

    static final int CUSTOMER = 0, COMPANY = 1, SUPPLIER = 2, COMPETITOR = 3,
            POLICY = 4, CONTACT = 5, DEVICE = 6, TENDER = 7;
    static final String[] NODE_TYPE_NAMES = {"customer", "company", "supplier",
        "competitor", "policy", "contact", "device", "tender"};
    /** By node type; [CUSTOMER] unused. */
    static final double[] EDGE_WEIGHT = {1, 0.5, 0.6, 0.8, 0.5, 0.9, 1.0, 0.9};
    static final double HOP_DECAY = 0.8;
    static final double FIT_WEIGHT = 0.4, INTENT_WEIGHT = 0.6;
    static final double[] CUTS = {70, 45, 20}; // A, B, C
    static final double HYSTERESIS = 5;
    static final int NODE_CAP = 64, SIGNAL_CAP = 16;
    static final double PRUNE_FLOOR = 0.01;
    static final int MAX_REASONS = 5;
    static final String TENDER_WINNER_ATTRIBUTE = "winner";
    static final String[] TIER_NAMES = {"A", "B", "C", "D"};
    static final int TIER_D = 3;

    /** 3.3: one annotation rule. */
    static final String ANNOTATION_SIGNAL = "annotation.quote.cfo_payment_terms";
    static final String ANNOTATION_DOC_TYPE = "QUOTE";
    static final String ANNOTATION_ROLE = "CFO";
    static final String[] ANNOTATION_KEYWORDS = lower(new String[] {"payment terms",
        "payment schedule", "net 30", "net 60", "installment", "付款条件", "付款方式", "账期", "分期付款"});

    /** 3.4: the speaker role every transcript rule counts (speaker_roles' default). */
    static final String TRANSCRIPT_SPEAKER_ROLE = "CUSTOMER";

    record TranscriptRule(String signal, String[] keywords, String[] lowered, boolean competitor) {}

    static final TranscriptRule[] TRANSCRIPT_RULES = {
        rule("transcript.need", false, "we need", "we are looking for", "looking to replace",
             "pain point", "需要", "痛点", "急需"),
        rule("transcript.budget", false, "budget", "funding approved", "approved funding", "预算", "资金到位"),
        rule("transcript.timeline", false, "next quarter", "end of the year", "deadline", "go-live",
             "年底前", "下个季度", "上线时间"),
        rule("transcript.competitor", true, "Siemens", "GE Healthcare", "Philips", "Mindray",
             "西门子", "飞利浦", "迈瑞"),
    };

    private static TranscriptRule rule(String signal, boolean competitor, String... kw) {
        return new TranscriptRule(signal, kw, lower(kw), competitor);
    }

    /** ASCII A-Z only, as the C locale's strcasestr folds. */
    static String asciiLower(String s) {
        char[] c = null;
        for (int i = 0; i < s.length(); i++) {
            char ch = s.charAt(i);
            if (ch >= 'A' && ch <= 'Z') {
                if (c == null) c = s.toCharArray();
                c[i] = (char) (ch - 'A' + 'a');
            }
        }
        return c == null ? s : new String(c);
    }

    private static String[] lower(String[] in) {
        String[] out = new String[in.length];
        for (int i = 0; i < in.length; i++) out[i] = asciiLower(in[i]);
        return out;
    }

    static boolean asciiEqualsIgnoreCase(String a, String b) {
        return a != null && asciiLower(a).equals(asciiLower(b));
    }

    // ---- 2. math ---------------------------------------------------------
    static double decay(double value, long fromMs, long toMs, long halfLifeMs) {
        if (halfLifeMs <= 0 || fromMs == toMs) return value;
        double dt = (double) toMs - (double) fromMs;
        return value * Math.pow(2.0, -dt / (double) halfLifeMs);
    }

    static double saturate(double weight, double saturation, double v) {
        if (saturation <= 0 || v <= 0 || weight == 0) return 0;
        double c = saturation * -Math.expm1(-Math.abs(weight) * v / saturation);
        return weight < 0 ? -c : c;
    }

    /** Exact name, then "first.*.last" for names of three or more parts; -1. */
    static int specIndex(String type) {
        Integer i = SPEC_BY_NAME.get(type);
        if (i != null) return i;
        int d1 = type.indexOf('.'), d2 = type.lastIndexOf('.');
        if (d1 < 0 || d2 == d1) return -1;
        i = SPEC_BY_NAME.get(type.substring(0, d1 + 1) + "*" + type.substring(d2));
        return i == null ? -1 : i;
    }

    static int tierNext(int current, double score) {
        double h = HYSTERESIS / 2;
        if (current < 0 || current > TIER_D) current = TIER_D;
        for (int t = 0; t < current; t++)
            if (score >= CUTS[t] + h) return t;
        if (current == TIER_D || score >= CUTS[current] - h) return current;
        for (int t = current + 1; t < TIER_D; t++)
            if (score >= CUTS[t] - h) return t;
        return TIER_D;
    }

    // ---- 3. the graph ------------------------------------------------------
    static final class Signal {
        String type;
        double value;      // decayed to ref
        long ref;          // latest event time of this signal
        long count;
        double valueNow;   // at graph.now, as of the last scoring
        double contribution;
        int spec;
    }

    static final class Node {
        int type;
        String id;
        String relation;
        double edgeWeight;
        long edgeTime;
        final ArrayList<Signal> signals = new ArrayList<>(4);
    }

    static final class Factor {
        final String factor, nodeType, nodeId;
        final double contribution;
        Factor(String f, String t, String id, double c) {
            factor = f; nodeType = t; nodeId = id; contribution = c;
        }
    }

    static final class Graph {
        long now;
        boolean hasNow;
        long nEvents;
        int tier = TIER_D;
        boolean rated;
        double score, fit, intent;
        final ArrayList<Node> nodes = new ArrayList<>(8);
        final double[] share = new double[SPECS.length];
        boolean sharesPending;

        static Graph create(String customerId) {
            Graph g = new Graph();
            Node c = new Node();
            c.type = CUSTOMER;
            c.id = customerId;
            c.relation = null;
            c.edgeWeight = 1;
            g.nodes.add(c);
            return g;
        }

        void observe(long t) {
            if (!hasNow || t > now) {
                now = t;
                hasNow = true;
            }
        }

        Node find(int type, String id) {
            if (type == CUSTOMER) return nodes.get(0);
            for (int i = 1; i < nodes.size(); i++) {
                Node n = nodes.get(i);
                if (n.type == type && n.id.equals(id)) return n;
            }
            return null;
        }

        Node link(int type, String id, String relation, long t) {
            if (type == CUSTOMER || id == null || id.isEmpty() || id.equals(nodes.get(0).id))
                return nodes.get(0);
            Node n = find(type, id);
            if (n == null) {
                n = new Node();
                n.type = type;
                n.id = id;
                n.edgeTime = t;
                nodes.add(n);
            }
            if (relation == null) relation = "";
            boolean newer = t >= n.edgeTime;
            if (newer) n.edgeTime = t;
            if (newer || n.relation == null) n.relation = relation;
            n.edgeWeight = EDGE_WEIGHT[type];
            return n;
        }

        void unlink(int type, String id) {
            for (int i = 1; i < nodes.size(); i++) {
                Node n = nodes.get(i);
                if (n.type == type && n.id.equals(id)) {
                    nodes.remove(i);
                    return;
                }
            }
        }

        boolean signalAdd(Node n, String type, double amount, long t) {
            int k = specIndex(type);
            if (k < 0 || !(amount >= 0) || !Double.isFinite(amount)) return false;
            Spec spec = SPECS[k];
            for (Signal s : n.signals) {
                if (s.type.equals(type)) {
                    if (t >= s.ref) {
                        s.value = decay(s.value, s.ref, t, spec.halfLife()) + amount;
                        s.ref = t;
                    } else {
                        s.value += decay(amount, t, s.ref, spec.halfLife());
                    }
                    s.count++;
                    return true;
                }
            }
            Signal s = new Signal();
            s.type = type;
            s.value = amount;
            s.ref = t;
            s.count = 1;
            s.spec = k;
            n.signals.add(s);
            return true;
        }

        private static double propagation(int nodeIndex, Node n) {
            return nodeIndex == 0 ? 1.0 : n.edgeWeight * HOP_DECAY;
        }

        private static double clamp100(double v) {
            return v < 0 ? 0 : v > 100 ? 100 : v;
        }

        private void scoreSums(double[] sum) {
            double[] partRaw = new double[2];
            for (int k = 0; k < SPECS.length; k++) {
                share[k] = 0;
                if (sum[k] > 0) {
                    share[k] = saturate(SPECS[k].weight(), SPECS[k].saturation(), sum[k]);
                    partRaw[SPECS[k].part()] += share[k];
                }
            }
            double wsum = FIT_WEIGHT + INTENT_WEIGHT;
            if (wsum <= 0) wsum = 1;
            double[] scale = {FIT_WEIGHT / wsum, INTENT_WEIGHT / wsum};
            for (int p = 0; p < 2; p++)
                if (partRaw[p] > 100) scale[p] *= 100 / partRaw[p];
            for (int k = 0; k < SPECS.length; k++)
                if (share[k] != 0) share[k] *= scale[SPECS[k].part()] / sum[k];
            sharesPending = true;
            fit = clamp100(partRaw[FIT]);
            intent = clamp100(partRaw[INTENT]);
            score = clamp100((FIT_WEIGHT * fit + INTENT_WEIGHT * intent) / wsum);
        }

        void rescore() {
            double[] sum = new double[SPECS.length];
            for (int i = 0; i < nodes.size(); i++) {
                Node n = nodes.get(i);
                double prop = propagation(i, n);
                for (Signal s : n.signals) {
                    s.valueNow = decay(s.value, s.ref, now, SPECS[s.spec].halfLife());
                    sum[s.spec] += s.valueNow * prop;
                }
            }
            scoreSums(sum);
        }

        private double shareOf(int i, Node n, Signal s) {
            if (!sharesPending) return s.contribution;
            return share[s.spec] * (s.valueNow * propagation(i, n));
        }

        private void settle() {
            if (!sharesPending) return;
            for (int i = 0; i < nodes.size(); i++) {
                Node n = nodes.get(i);
                for (Signal s : n.signals) s.contribution = shareOf(i, n, s);
            }
            sharesPending = false;
        }

        private void dropBareNeighbours() {
            for (int i = nodes.size() - 1; i >= 1; i--)
                if (nodes.get(i).signals.isEmpty()) nodes.remove(i);
        }

        /** 4.3: prune, score, enforce the caps (and score again if any). */
        void maintain() {
            double[] sum = new double[SPECS.length];
            for (int i = 0; i < nodes.size(); i++) {
                Node n = nodes.get(i);
                double prop = propagation(i, n);
                for (int j = 0; j < n.signals.size();) {
                    Signal s = n.signals.get(j);
                    double valueNow = decay(s.value, s.ref, now, SPECS[s.spec].halfLife());
                    if (valueNow < PRUNE_FLOOR) {
                        n.signals.remove(j);
                    } else {
                        s.valueNow = valueNow;
                        sum[s.spec] += valueNow * prop;
                        j++;
                    }
                }
            }
            dropBareNeighbours();
            scoreSums(sum);
            if (overCaps()) {
                enforceCaps();
                rescore();
            }
        }

        private boolean overCaps() {
            if (nodes.size() - 1 > NODE_CAP) return true;
            for (Node n : nodes)
                if (n.signals.size() > SIGNAL_CAP) return true;
            return false;
        }

        private static boolean evictBefore(Signal a, Signal b) {
            double ca = Math.abs(a.contribution), cb = Math.abs(b.contribution);
            if (ca != cb) return ca < cb;
            if (a.ref != b.ref) return a.ref < b.ref;
            return a.type.compareTo(b.type) < 0;
        }

        private static double nodeWeight(Node n) {
            double w = 0;
            for (Signal s : n.signals) w += Math.abs(s.contribution);
            return w;
        }

        private static boolean evictBefore(Node a, Node b) {
            double ca = nodeWeight(a), cb = nodeWeight(b);
            if (ca != cb) return ca < cb;
            if (a.edgeTime != b.edgeTime) return a.edgeTime < b.edgeTime;
            if (a.type != b.type) return a.type < b.type;
            return a.id.compareTo(b.id) < 0;
        }

        private void enforceCaps() {
            settle();
            for (Node n : nodes) {
                while (n.signals.size() > SIGNAL_CAP) {
                    int worst = 0;
                    for (int j = 1; j < n.signals.size(); j++)
                        if (evictBefore(n.signals.get(j), n.signals.get(worst))) worst = j;
                    n.signals.remove(worst);
                }
            }
            while (nodes.size() - 1 > NODE_CAP) {
                int worst = 1;
                for (int i = 2; i < nodes.size(); i++)
                    if (evictBefore(nodes.get(i), nodes.get(worst))) worst = i;
                nodes.remove(worst);
            }
            dropBareNeighbours();
        }

        /** 5: the strongest non-zero contributions. */
        List<Factor> factors(int max) {
            ArrayList<Factor> all = new ArrayList<>();
            for (int i = 0; i < nodes.size(); i++) {
                Node n = nodes.get(i);
                for (Signal s : n.signals) {
                    double c = shareOf(i, n, s);
                    if (c != 0) all.add(new Factor(s.type, NODE_TYPE_NAMES[n.type], n.id, c));
                }
            }
            all.sort((a, b) -> {
                double ca = Math.abs(a.contribution), cb = Math.abs(b.contribution);
                if (ca != cb) return ca > cb ? -1 : 1;
                int c = a.factor.compareTo(b.factor);
                if (c != 0) return c;
                c = a.nodeType.compareTo(b.nodeType);
                if (c != 0) return c;
                return a.nodeId.compareTo(b.nodeId);
            });
            return all.size() > max ? all.subList(0, max) : all;
        }
    }

    /** What one input event is, for section 3 (only the fields the workload reads). */
    static final class Event {
        int kind; // 1 transcript, 2 annotation, 3 iot, 4 registry (= writer schema id)
        String eventId, customerId;
        long eventTime;
        // registry
        String changeType, entityType, entityId, winner;
        // iot
        String deviceId, alertType, severity;
        int count;
        // annotation / transcript
        String docType, authorRole, text;
        // transcript
        String speakerRole;
    }

    static final int KIND_TRANSCRIPT = 1, KIND_ANNOTATION = 2, KIND_IOT = 3, KIND_REGISTRY = 4;

    static int nodeTypeOfEntity(String entityType) {
        switch (entityType) {
            case "COMPANY": return COMPANY;
            case "SUPPLIER": return SUPPLIER;
            case "COMPETITOR": return COMPETITOR;
            case "POLICY": return POLICY;
            case "CONTACT": return CONTACT;
            case "DEVICE": return DEVICE;
            case "TENDER": return TENDER;
            default: return COMPANY;
        }
    }

    /** 3: the event's signals onto the graph. */
    static void apply(Graph g, Event ev) {
        switch (ev.kind) {
            case KIND_REGISTRY -> applyRegistry(g, ev);
            case KIND_IOT -> applyIot(g, ev);
            case KIND_ANNOTATION -> applyAnnotation(g, ev);
            case KIND_TRANSCRIPT -> applyTranscript(g, ev);
            default -> { }
        }
    }

    private static void applyRegistry(Graph g, Event ev) {
        int nt = nodeTypeOfEntity(ev.entityType);
        Node n;
        switch (ev.changeType) {
            case "RELATION_REMOVED" -> {
                g.unlink(nt, ev.entityId == null ? "" : ev.entityId);
                return;
            }
            case "EQUITY_CHANGE", "CAPACITY_EXPANSION" -> n = g.nodes.get(0);
            default -> n = g.link(nt, ev.entityId, ev.changeType, ev.eventTime);
        }
        String signal = "registry." + ev.changeType;
        if (ev.changeType.equals("TENDER_AWARDED") && ev.winner != null
                && g.find(COMPETITOR, ev.winner) != null)
            signal = "registry.TENDER_AWARDED_TO_COMPETITOR";
        g.signalAdd(n, signal, 1, ev.eventTime);
    }

    private static void applyIot(Graph g, Event ev) {
        String signal = "iot." + ev.alertType + "." + ev.severity;
        if (specIndex(signal) < 0) return; // no device node for an unconfigured type
        Node n = g.link(DEVICE, ev.deviceId, "IOT_DEVICE", ev.eventTime);
        g.signalAdd(n, signal, ev.count > 1 ? ev.count : 1, ev.eventTime);
    }

    private static void applyAnnotation(Graph g, Event ev) {
        if (!ANNOTATION_DOC_TYPE.equals(ev.docType)) return;
        if (!asciiEqualsIgnoreCase(ev.authorRole, ANNOTATION_ROLE)) return;
        String lower = asciiLower(ev.text);
        for (String kw : ANNOTATION_KEYWORDS) {
            if (!kw.isEmpty() && lower.contains(kw)) {
                g.signalAdd(g.nodes.get(0), ANNOTATION_SIGNAL, 1, ev.eventTime);
                return;
            }
        }
    }

    private static void applyTranscript(Graph g, Event ev) {
        // Every rule keeps the default speaker_roles [CUSTOMER]: what the
        // customer says, not the rep's pitch.
        if (!TRANSCRIPT_SPEAKER_ROLE.equals(ev.speakerRole)) return;
        String lower = asciiLower(ev.text);
        for (TranscriptRule r : TRANSCRIPT_RULES) {
            for (int j = 0; j < r.keywords().length; j++) {
                if (r.keywords()[j].isEmpty() || !lower.contains(r.lowered()[j])) continue;
                if (!r.competitor()) {
                    g.signalAdd(g.nodes.get(0), r.signal(), 1, ev.eventTime);
                    break; // once per segment
                }
                Node n = g.link(COMPETITOR, r.keywords()[j], "MENTIONED", ev.eventTime);
                g.signalAdd(n, r.signal(), 1, ev.eventTime);
            }
        }
    }

    /** 4: one event. Returns the previous tier when the tier changed, else -1. */
    static int handle(Graph g, Event ev) {
        int prevTier = g.tier;
        g.observe(ev.eventTime);
        apply(g, ev);
        g.maintain();
        g.nEvents++;
        g.tier = tierNext(prevTier, g.score);
        return g.tier == prevTier ? -1 : prevTier;
    }

    static String fmt(double d) {
        return String.format(Locale.ROOT, "%.6f", d);
    }
}
