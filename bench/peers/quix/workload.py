"""The lead-rating workload of bench/peers/WORKLOAD.md in plain Python: the
parameters (the shipped processor.yaml's lead_rating section), the
per-customer graph and its scoring. No Kafka here; lead_rating.py wires it
into Quix Streams. Section numbers are WORKLOAD.md's.

A graph is kept as plain lists (JSON-serialisable, which is what Quix
Streams' state stores by default):
    [now, has_now, n_events, tier, rated, score, fit, intent, nodes]
    node   = [type, id, relation, edge_weight, edge_time, signals]
    signal = [type, value, ref, count, spec]
"""
import math

# ---- 1. parameters ------------------------------------------------------
FIT, INTENT = 0, 1
DAY = 86_400_000

SPECS = [  # name, weight, half_life (ms), saturation, part
    ("registry.CAPACITY_EXPANSION", 60, 180 * DAY, 70, FIT),
    ("registry.EQUITY_CHANGE", 20, 180 * DAY, 30, FIT),
    ("registry.TENDER_PUBLISHED", 40, 90 * DAY, 60, FIT),
    ("registry.TENDER_AWARDED", 10, 180 * DAY, 20, FIT),
    ("registry.TENDER_AWARDED_TO_COMPETITOR", -30, 180 * DAY, 40, FIT),
    ("registry.SUPPLIER_LINKED", 15, 365 * DAY, 30, FIT),
    ("registry.POLICY_LINKED", 20, 365 * DAY, 30, FIT),
    ("registry.COMPETITOR_LINKED", -10, 365 * DAY, 25, FIT),
    ("registry.CONTACT_JOINED", 15, 90 * DAY, 30, INTENT),
    ("registry.CONTACT_MOVED", 40, 90 * DAY, 50, INTENT),
    ("registry.CONTACT_LEFT", -20, 90 * DAY, 40, INTENT),
    ("iot.vibration_anomaly.CRITICAL", 15, 14 * DAY, 60, INTENT),
    ("iot.vibration_anomaly.WARNING", 6, 14 * DAY, 30, INTENT),
    ("iot.downtime.CRITICAL", 12, 14 * DAY, 50, INTENT),
    ("iot.*.CRITICAL", 8, 14 * DAY, 30, INTENT),
    ("iot.*.WARNING", 3, 14 * DAY, 15, INTENT),
    ("iot.*.INFO", 1, 7 * DAY, 6, INTENT),
    ("annotation.quote.cfo_payment_terms", 25, 30 * DAY, 30, INTENT),
    ("transcript.need", 10, 30 * DAY, 30, INTENT),
    ("transcript.budget", 15, 30 * DAY, 25, INTENT),
    ("transcript.timeline", 10, 30 * DAY, 20, INTENT),
    ("transcript.competitor", 5, 60 * DAY, 15, INTENT),
]
N_SPECS = len(SPECS)
SPEC_BY_NAME = {}
for _i, _s in enumerate(SPECS):
    SPEC_BY_NAME.setdefault(_s[0], _i)
HALF_LIFE = [s[2] for s in SPECS]

CUSTOMER, COMPANY, SUPPLIER, COMPETITOR, POLICY, CONTACT, DEVICE, TENDER = range(8)
NODE_TYPE_NAMES = ["customer", "company", "supplier", "competitor", "policy",
                   "contact", "device", "tender"]
NODE_TYPE_OF_ENTITY = {"COMPANY": COMPANY, "SUPPLIER": SUPPLIER,
                       "COMPETITOR": COMPETITOR, "POLICY": POLICY,
                       "CONTACT": CONTACT, "DEVICE": DEVICE, "TENDER": TENDER}
EDGE_WEIGHT = [1, 0.5, 0.6, 0.8, 0.5, 0.9, 1.0, 0.9]
HOP_DECAY = 0.8
FIT_WEIGHT, INTENT_WEIGHT = 0.4, 0.6
CUTS = [70, 45, 20]
HYSTERESIS = 5
NODE_CAP, SIGNAL_CAP = 64, 16
PRUNE_FLOOR = 0.01
MAX_REASONS = 5
TENDER_WINNER_ATTRIBUTE = "winner"
TIER_NAMES = ["A", "B", "C", "D"]
TIER_D = 3


def ascii_lower(s):
    """A-Z only, as the C locale's strcasestr folds."""
    return s.translate(_LOWER)


_LOWER = {c: c + 32 for c in range(ord("A"), ord("Z") + 1)}

ANNOTATION_SIGNAL = "annotation.quote.cfo_payment_terms"
ANNOTATION_DOC_TYPE = "QUOTE"
ANNOTATION_ROLE = "cfo"  # compared ASCII case-insensitively
ANNOTATION_KEYWORDS = [ascii_lower(k) for k in (
    "payment terms", "payment schedule", "net 30", "net 60", "installment",
    "付款条件", "付款方式", "账期", "分期付款")]

TRANSCRIPT_SPEAKER_ROLE = "CUSTOMER"
TRANSCRIPT_RULES = [  # signal, attach to a competitor node, [(keyword, lowered)]
    (sig, comp, [(k, ascii_lower(k)) for k in kws]) for sig, comp, kws in (
        ("transcript.need", False, ["we need", "we are looking for", "looking to replace",
                                    "pain point", "需要", "痛点", "急需"]),
        ("transcript.budget", False, ["budget", "funding approved", "approved funding",
                                      "预算", "资金到位"]),
        ("transcript.timeline", False, ["next quarter", "end of the year", "deadline",
                                        "go-live", "年底前", "下个季度", "上线时间"]),
        ("transcript.competitor", True, ["Siemens", "GE Healthcare", "Philips", "Mindray",
                                         "西门子", "飞利浦", "迈瑞"]),
    )]


# ---- 2. math --------------------------------------------------------------
def decay(value, from_ms, to_ms, half_life_ms):
    if half_life_ms <= 0 or from_ms == to_ms:
        return value
    return value * math.exp2(-(float(to_ms) - float(from_ms)) / float(half_life_ms))


def saturate(weight, saturation, v):
    if saturation <= 0 or v <= 0 or weight == 0:
        return 0.0
    c = saturation * -math.expm1(-abs(weight) * v / saturation)
    return -c if weight < 0 else c


def spec_index(t):
    i = SPEC_BY_NAME.get(t)
    if i is not None:
        return i
    d1, d2 = t.find("."), t.rfind(".")
    if d1 < 0 or d2 == d1:
        return -1
    return SPEC_BY_NAME.get(t[:d1 + 1] + "*" + t[d2:], -1)


def tier_next(current, score):
    h = HYSTERESIS / 2
    if current < 0 or current > TIER_D:
        current = TIER_D
    for t in range(current):
        if score >= CUTS[t] + h:
            return t
    if current == TIER_D or score >= CUTS[current] - h:
        return current
    for t in range(current + 1, TIER_D):
        if score >= CUTS[t] - h:
            return t
    return TIER_D


# ---- 3. the graph ------------------------------------------------------------
# Field indexes.
G_NOW, G_HAS_NOW, G_EVENTS, G_TIER, G_RATED, G_SCORE, G_FIT, G_INTENT, G_NODES = range(9)
N_TYPE, N_ID, N_REL, N_EW, N_ET, N_SIGS = range(6)
S_TYPE, S_VALUE, S_REF, S_COUNT, S_SPEC = range(5)


def graph_new(customer_id):
    return [0, False, 0, TIER_D, False, 0.0, 0.0, 0.0,
            [[CUSTOMER, customer_id, None, 1.0, 0, []]]]


def node_find(g, t, nid):
    nodes = g[G_NODES]
    if t == CUSTOMER:
        return nodes[0]
    for n in nodes[1:]:
        if n[N_TYPE] == t and n[N_ID] == nid:
            return n
    return None


def link(g, t, nid, relation, t_ms):
    nodes = g[G_NODES]
    if t == CUSTOMER or not nid or nid == nodes[0][N_ID]:
        return nodes[0]
    n = node_find(g, t, nid)
    if n is None:
        n = [t, nid, None, 0.0, t_ms, []]
        nodes.append(n)
    newer = t_ms >= n[N_ET]
    if newer:
        n[N_ET] = t_ms
    if newer or n[N_REL] is None:
        n[N_REL] = relation or ""
    n[N_EW] = EDGE_WEIGHT[t]
    return n


def unlink(g, t, nid):
    nodes = g[G_NODES]
    for i in range(1, len(nodes)):
        if nodes[i][N_TYPE] == t and nodes[i][N_ID] == nid:
            del nodes[i]
            return


def signal_add(n, t, amount, t_ms):
    k = spec_index(t)
    if k < 0 or not (amount >= 0) or not math.isfinite(amount):
        return
    for s in n[N_SIGS]:
        if s[S_TYPE] == t:
            if t_ms >= s[S_REF]:
                s[S_VALUE] = decay(s[S_VALUE], s[S_REF], t_ms, HALF_LIFE[k]) + amount
                s[S_REF] = t_ms
            else:
                s[S_VALUE] += decay(amount, t_ms, s[S_REF], HALF_LIFE[k])
            s[S_COUNT] += 1
            return
    n[N_SIGS].append([t, float(amount), t_ms, 1, k])


def _clamp100(v):
    return 0.0 if v < 0 else 100.0 if v > 100 else v


class Scored:
    """What one scoring leaves besides the graph's fields: per spec the
    factor turning a propagated value into its share, and the values at now."""
    __slots__ = ("share", "value_now")

    def __init__(self):
        self.share = [0.0] * N_SPECS
        self.value_now = {}  # id(signal) -> value at now


def _score_sums(g, sums, sc):
    share = sc.share
    part_raw = [0.0, 0.0]
    for k in range(N_SPECS):
        share[k] = 0.0
        if sums[k] > 0:
            _, w, _, sat, part = SPECS[k]
            share[k] = saturate(w, sat, sums[k])
            part_raw[part] += share[k]
    wsum = FIT_WEIGHT + INTENT_WEIGHT
    if wsum <= 0:
        wsum = 1
    scale = [FIT_WEIGHT / wsum, INTENT_WEIGHT / wsum]
    for p in (0, 1):
        if part_raw[p] > 100:
            scale[p] *= 100 / part_raw[p]
    for k in range(N_SPECS):
        if share[k] != 0:
            share[k] *= scale[SPECS[k][4]] / sums[k]
    g[G_FIT] = _clamp100(part_raw[FIT])
    g[G_INTENT] = _clamp100(part_raw[INTENT])
    g[G_SCORE] = _clamp100((FIT_WEIGHT * g[G_FIT] + INTENT_WEIGHT * g[G_INTENT]) / wsum)


def _prop(i, n):
    return 1.0 if i == 0 else n[N_EW] * HOP_DECAY


def _rescore(g, sc):
    sums = [0.0] * N_SPECS
    now = g[G_NOW]
    sc.value_now.clear()
    for i, n in enumerate(g[G_NODES]):
        prop = _prop(i, n)
        for s in n[N_SIGS]:
            k = s[S_SPEC]
            v = decay(s[S_VALUE], s[S_REF], now, HALF_LIFE[k])
            sc.value_now[id(s)] = v
            sums[k] += v * prop
    _score_sums(g, sums, sc)


def _contribution(sc, i, n, s):
    return sc.share[s[S_SPEC]] * (sc.value_now[id(s)] * _prop(i, n))


def _drop_bare(g):
    nodes = g[G_NODES]
    for i in range(len(nodes) - 1, 0, -1):
        if not nodes[i][N_SIGS]:
            del nodes[i]


def maintain(g, sc):
    """4.3: prune, score, enforce the caps (and score again if any)."""
    sums = [0.0] * N_SPECS
    now = g[G_NOW]
    sc.value_now.clear()
    for i, n in enumerate(g[G_NODES]):
        prop = _prop(i, n)
        kept = []
        for s in n[N_SIGS]:
            k = s[S_SPEC]
            v = decay(s[S_VALUE], s[S_REF], now, HALF_LIFE[k])
            if v < PRUNE_FLOOR:
                continue
            sc.value_now[id(s)] = v
            sums[k] += v * prop
            kept.append(s)
        n[N_SIGS] = kept
    _drop_bare(g)
    _score_sums(g, sums, sc)
    nodes = g[G_NODES]
    if len(nodes) - 1 > NODE_CAP or any(len(n[N_SIGS]) > SIGNAL_CAP for n in nodes):
        _enforce_caps(g, sc)
        _rescore(g, sc)


def _enforce_caps(g, sc):
    nodes = g[G_NODES]
    contrib = {}
    for i, n in enumerate(nodes):
        for s in n[N_SIGS]:
            contrib[id(s)] = _contribution(sc, i, n, s)
    for n in nodes:
        sigs = n[N_SIGS]
        while len(sigs) > SIGNAL_CAP:
            worst = min(range(len(sigs)), key=lambda j: (
                abs(contrib[id(sigs[j])]), sigs[j][S_REF], sigs[j][S_TYPE].encode()))
            del sigs[worst]

    def weight(n):
        return sum(abs(contrib[id(s)]) for s in n[N_SIGS])
    while len(nodes) - 1 > NODE_CAP:
        worst = min(range(1, len(nodes)), key=lambda i: (
            weight(nodes[i]), nodes[i][N_ET], nodes[i][N_TYPE], nodes[i][N_ID].encode()))
        del nodes[worst]
    _drop_bare(g)


def factors(g, sc, limit=MAX_REASONS):
    """5: the strongest non-zero contributions."""
    out = []
    for i, n in enumerate(g[G_NODES]):
        for s in n[N_SIGS]:
            c = _contribution(sc, i, n, s)
            if c != 0:
                out.append((s[S_TYPE], NODE_TYPE_NAMES[n[N_TYPE]], n[N_ID], c))
    out.sort(key=lambda f: (-abs(f[3]), f[0].encode(), f[1].encode(), f[2].encode()))
    return out[:limit]


# ---- 3. events -> signals -------------------------------------------------------
def apply(g, kind, ev):
    t = ev["event_time"]
    nodes = g[G_NODES]
    if kind == "registry":
        change = ev["change_type"]
        nt = NODE_TYPE_OF_ENTITY.get(ev["entity_type"], COMPANY)
        if change == "RELATION_REMOVED":
            unlink(g, nt, ev["entity_id"] or "")
            return
        if change in ("EQUITY_CHANGE", "CAPACITY_EXPANSION"):
            n = nodes[0]
        else:
            n = link(g, nt, ev["entity_id"], change, t)
        signal = "registry." + change
        if change == "TENDER_AWARDED":
            winner = (ev.get("attributes") or {}).get(TENDER_WINNER_ATTRIBUTE)
            if winner and node_find(g, COMPETITOR, winner) is not None:
                signal = "registry.TENDER_AWARDED_TO_COMPETITOR"
        signal_add(n, signal, 1, t)
    elif kind == "iot":
        signal = "iot." + ev["alert_type"] + "." + ev["severity"]
        if spec_index(signal) < 0:
            return
        n = link(g, DEVICE, ev["device_id"], "IOT_DEVICE", t)
        signal_add(n, signal, ev["count"] if ev["count"] > 1 else 1, t)
    elif kind == "annotation":
        if ev["doc_type"] != ANNOTATION_DOC_TYPE:
            return
        if ascii_lower(ev["author_role"] or "") != ANNOTATION_ROLE:
            return
        lower = ascii_lower(ev["text"])
        if any(k and k in lower for k in ANNOTATION_KEYWORDS):
            signal_add(nodes[0], ANNOTATION_SIGNAL, 1, t)
    elif kind == "transcript":
        if ev["speaker_role"] != TRANSCRIPT_SPEAKER_ROLE:
            return
        lower = ascii_lower(ev["text"])
        for signal, competitor, kws in TRANSCRIPT_RULES:
            for kw, low in kws:
                if not kw or low not in lower:
                    continue
                if not competitor:
                    signal_add(nodes[0], signal, 1, t)
                    break
                signal_add(link(g, COMPETITOR, kw, "MENTIONED", t), signal, 1, t)


def handle(g, kind, ev, sc):
    """4: one event; returns the previous tier when the tier changed, else -1."""
    prev = g[G_TIER]
    t = ev["event_time"]
    if not g[G_HAS_NOW] or t > g[G_NOW]:
        g[G_NOW] = t
        g[G_HAS_NOW] = True
    apply(g, kind, ev)
    maintain(g, sc)
    g[G_EVENTS] += 1
    g[G_TIER] = tier_next(prev, g[G_SCORE])
    return -1 if g[G_TIER] == prev else prev
