#!/usr/bin/env python3
"""bench/peers/quix/lead_rating.py - the Quix Streams peer of the lead-rating
workload (bench/peers/WORKLOAD.md; the scoring is workload.py).

  lead_rating.py --bootstrap B --schemas DIR --state-dir DIR [--group G]
                 [--topic-prefix P] [--output TOPIC]
                 [--expect N] [--exit-when-idle MS]

One Application: a StreamingDataFrame per input topic (P + the shipped
names), concatenated, one stateful apply over the RocksDB state store
(state scoped to the message key, the customer), a filter, and to_topic()
of LeadRerating records. Avro through fastavro with dealstream's framing
(0x00, 4-byte big-endian writer id, body). Without --exit-when-idle it runs
until SIGTERM; with it, it stops once no message came for MS (Quix's
run(timeout=...)) and prints one JSON line: events, first_ms, last_ms,
span_ms. --expect is accepted for symmetry with the other peers.
"""
import argparse
import hashlib
import io
import json
import os
import struct
import sys
import time

import fastavro
from quixstreams import Application, message_context
from quixstreams.models.serializers import Deserializer, Serializer

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import workload as w  # noqa: E402

INPUTS = ["sales.transcripts", "sales.doc-annotations", "ops.iot-alerts",
          "ref.registry-changes"]
KIND_BY_ID = {1: "transcript", 2: "annotation", 3: "iot", 4: "registry"}
FILE_BY_ID = {1: "transcript_segment", 2: "document_annotation", 3: "iot_alert",
              4: "registry_change"}
LEAD_RERATING_ID = 10


def strip_logical(s):
    """The schema without logicalType annotations: timestamps stay int ms."""
    if isinstance(s, dict):
        return {k: strip_logical(v) for k, v in s.items() if k != "logicalType"}
    if isinstance(s, list):
        return [strip_logical(x) for x in s]
    return s


def load_schema(d, name):
    with open(os.path.join(d, name + ".avsc")) as f:
        return fastavro.parse_schema(strip_logical(json.load(f)))


class FramedAvroDeserializer(Deserializer):
    """Framed Avro -> dict, with the record's kind under "_kind"."""

    def __init__(self, schemas):
        super().__init__()
        self._schemas = schemas

    def __call__(self, value, ctx):
        if len(value) < 5 or value[0] != 0:
            raise ValueError("not a framed Avro record")
        sid = struct.unpack_from(">I", value, 1)[0]
        sch = self._schemas[sid]
        rec = fastavro.schemaless_reader(io.BytesIO(value[5:]), sch, sch)
        rec["_kind"] = KIND_BY_ID[sid]
        return rec


class FramedAvroSerializer(Serializer):
    def __init__(self, schema, sid):
        super().__init__()
        self._schema = schema
        self._head = b"\0" + struct.pack(">I", sid)

    def __call__(self, value, ctx):
        out = io.BytesIO()
        out.write(self._head)
        fastavro.schemaless_writer(out, self._schema, value)
        return out.getvalue()


STATS = {"events": 0, "first_ms": 0, "last_ms": 0}


def rate(ev, state):
    """4: one event against the customer's graph; a LeadRerating or None."""
    cust = ev.get("customer_id")
    if not cust:
        return None
    now_ms = int(time.time() * 1000)
    STATS["events"] += 1
    if STATS["events"] == 1:
        STATS["first_ms"] = now_ms
    STATS["last_ms"] = now_ms
    g = state.get("graph")
    if g is None:
        g = w.graph_new(cust)
    prev_score = g[w.G_SCORE]
    sc = w.Scored()
    prev = w.handle(g, ev["_kind"], ev, sc)
    out = None
    if prev >= 0:
        tier = w.TIER_NAMES[g[w.G_TIER]]
        mc = message_context()
        out = {
            "alert_id": hashlib.sha256(f"rerating:{tier}\0{cust}\0{ev['event_id']}".encode())
                        .hexdigest()[:32],
            "customer_id": cust,
            "previous_tier": w.TIER_NAMES[prev] if g[w.G_RATED] else None,
            "tier": tier,
            "previous_score": prev_score,
            "score": g[w.G_SCORE],
            "reasons": [{"factor": f, "node_type": t, "node_id": i, "contribution": c}
                        for f, t, i, c in w.factors(g, sc)],
            "trigger_event_id": ev["event_id"],
            "source_topic": mc.topic,
            "source_partition": mc.partition,
            "source_offset": mc.offset,
            "event_time": ev["event_time"],
            "trend": "improving" if g[w.G_TIER] < prev else "declining",
            "fit_score": g[w.G_FIT],
            "intent_score": g[w.G_INTENT],
        }
        g[w.G_RATED] = True
    state.set("graph", g)
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bootstrap", required=True)
    ap.add_argument("--schemas", required=True)
    ap.add_argument("--state-dir", required=True)
    ap.add_argument("--group", default="peer-quix")
    ap.add_argument("--topic-prefix", default="")
    ap.add_argument("--output")
    ap.add_argument("--expect", type=int, default=0)
    ap.add_argument("--exit-when-idle", type=int, default=0)
    a = ap.parse_args()

    schemas = {i: load_schema(a.schemas, n) for i, n in FILE_BY_ID.items()}
    out_schema = load_schema(a.schemas, "lead_rerating")
    # Tunings (bench/peers/README.md): commit as often as dealstream seals a
    # batch (200 ms) instead of every 5 s; poll for at most 100 ms instead of
    # 1 s (with concatenated topics Quix fills its time-alignment buffer by
    # consume(10000, timeout), which otherwise holds a slow trickle of
    # records for up to a second); read from the beginning; quiet.
    app = Application(broker_address=a.bootstrap, consumer_group=a.group,
                      auto_offset_reset="earliest", commit_interval=0.2,
                      consumer_poll_timeout=0.1,
                      state_dir=a.state_dir, loglevel="WARNING")
    des = FramedAvroDeserializer(schemas)
    sdf = None
    for name in INPUTS:
        t = app.topic(a.topic_prefix + name, key_deserializer="str",
                      value_deserializer=des)
        s = app.dataframe(t)
        sdf = s if sdf is None else sdf.concat(s)
    out = app.topic(a.output or a.topic_prefix + "sales.lead-ratings",
                    key_serializer="str",
                    value_serializer=FramedAvroSerializer(out_schema, LEAD_RERATING_ID))
    sdf = sdf.apply(rate, stateful=True)
    sdf = sdf.filter(lambda v: v is not None)
    sdf.to_topic(out)

    if a.exit_when_idle > 0:
        app.run(timeout=a.exit_when_idle / 1000.0, collect=False)
        print(json.dumps({"events": STATS["events"], "first_ms": STATS["first_ms"],
                          "last_ms": STATS["last_ms"],
                          "span_ms": max(1, STATS["last_ms"] - STATS["first_ms"])}))
    else:
        app.run()


if __name__ == "__main__":
    main()
