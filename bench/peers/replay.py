#!/usr/bin/env python3
"""bench/peers/replay.py - the equivalence check's driver (see WORKLOAD.md, 7).

  replay.py stage   --bootstrap B --out FILE
      reads every record of the four lead-rating input topics (the staged
      input `gen produce` wrote) and keeps them, byte for byte, in FILE.
  replay.py rounds  --bootstrap B --in FILE --prefix P --group G [--timeout S]
      writes the staged records to P<topic> (same partition, key, value) in
      rounds: round k holds the k-th event of every customer (events of one
      customer in (event_time, generator sequence) order). Before the next
      round it waits until group G has committed every record written so
      far, so each system sees each customer's events in the same order,
      whatever order it reads its topics in.
  replay.py count   --bootstrap B [--prefix P]
      prints how many records the four input topics (P<name>) hold.
  replay.py wait-group --bootstrap B --group G [--timeout S]
      waits until group G is stable with partitions assigned (exit 1 if not).
  replay.py collect --bootstrap B --topic T --schemas DIR --out FILE
      reads every LeadRerating of T and writes "customer<TAB>tier<TAB>
      trigger_event_id" lines, sorted, to FILE.

Runs in the venv bench/peers/setup makes (confluent-kafka, fastavro).
"""
import argparse
import io
import json
import struct
import sys
import time

from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient
import fastavro

INPUTS = ["sales.transcripts", "sales.doc-annotations", "ops.iot-alerts",
          "ref.registry-changes"]


def read_all(bootstrap, topic, group):
    """Every record of topic (all partitions) as (partition, offset, key, value)."""
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": group,
                  "enable.auto.commit": False, "auto.offset.reset": "earliest"})
    md = c.list_topics(topic, timeout=30)
    parts = sorted(md.topics[topic].partitions)
    ends = {}
    assign = []
    for p in parts:
        lo, hi = c.get_watermark_offsets(TopicPartition(topic, p), timeout=30)
        if hi > lo:
            ends[p] = hi
            assign.append(TopicPartition(topic, p, lo))
    out = []
    if assign:
        c.assign(assign)
        done = set()
        deadline = time.time() + 120
        while len(done) < len(ends):
            if time.time() > deadline:
                sys.exit(f"replay: timed out reading {topic}")
            for m in c.consume(1000, 1.0):
                if m.error():
                    continue
                out.append((m.partition(), m.offset(), m.key(), m.value()))
                if m.offset() + 1 >= ends[m.partition()]:
                    done.add(m.partition())
    c.close()
    return out


def cmd_stage(a):
    schemas = load_inputs(a.schemas)
    recs = []
    for t in INPUTS:
        for (p, off, k, v) in read_all(a.bootstrap, t, "peers-check-stage"):
            sid = struct.unpack(">I", v[1:5])[0]
            r = fastavro.schemaless_reader(io.BytesIO(v[5:]), schemas[sid], schemas[sid])
            seq = int(r["event_id"].rsplit("-", 1)[1])
            recs.append({"topic": t, "partition": p, "key": k.hex(), "value": v.hex(),
                         "customer": r["customer_id"], "time": r["event_time"],
                         "seq": seq})
    with open(a.out, "w") as f:
        json.dump(recs, f)
    print(f"staged {len(recs)} records", file=sys.stderr)


def strip_logical(s):
    """The schema without logicalType annotations: timestamps stay int ms."""
    if isinstance(s, dict):
        return {k: strip_logical(v) for k, v in s.items() if k != "logicalType"}
    if isinstance(s, list):
        return [strip_logical(x) for x in s]
    return s


def load_inputs(d):
    ids = {1: "transcript_segment", 2: "document_annotation", 3: "iot_alert",
           4: "registry_change"}
    return {i: fastavro.parse_schema(strip_logical(json.load(open(f"{d}/{n}.avsc"))))
            for i, n in ids.items()}


def committed(admin_consumer, tps):
    got = admin_consumer.committed(tps, timeout=10)
    return {(tp.topic, tp.partition): tp.offset for tp in got}


def cmd_rounds(a):
    recs = json.load(open(a.inp))
    by_cust = {}
    for r in recs:
        by_cust.setdefault(r["customer"], []).append(r)
    rounds = []
    for evs in by_cust.values():
        evs.sort(key=lambda r: (r["time"], r["seq"]))
        for k, r in enumerate(evs):
            if k == len(rounds):
                rounds.append([])
            rounds[k].append(r)
    prod = Producer({"bootstrap.servers": a.bootstrap, "linger.ms": 5})
    watcher = Consumer({"bootstrap.servers": a.bootstrap, "group.id": a.group,
                        "enable.auto.commit": False})
    want = {}
    t0 = time.time()
    for k, rnd in enumerate(rounds):
        rnd.sort(key=lambda r: (r["time"], r["seq"]))
        for r in rnd:
            topic = a.prefix + r["topic"]
            prod.produce(topic, key=bytes.fromhex(r["key"]), value=bytes.fromhex(r["value"]),
                         partition=r["partition"], timestamp=r["time"])
            want[(topic, r["partition"])] = want.get((topic, r["partition"]), 0) + 1
        if prod.flush(60) != 0:
            sys.exit("replay: could not deliver a round")
        tps = [TopicPartition(t, p) for (t, p) in want]
        deadline = time.time() + a.timeout
        while True:
            got = committed(watcher, tps)
            if all(got.get(tp, -1) >= n for tp, n in want.items()):
                break
            if time.time() > deadline:
                behind = {f"{t}/{p}": (got.get((t, p)), n) for (t, p), n in want.items()
                          if got.get((t, p), -1) < n}
                sys.exit(f"replay: group {a.group} did not commit round {k} within "
                         f"{a.timeout}s: {behind}")
            time.sleep(0.05)
    watcher.close()
    print(json.dumps({"rounds": len(rounds), "records": len(recs),
                      "customers": len(by_cust), "seconds": round(time.time() - t0, 1)}))


def cmd_count(a):
    c = Consumer({"bootstrap.servers": a.bootstrap, "group.id": "peers-count"})
    n = 0
    for t in INPUTS:
        md = c.list_topics(a.prefix + t, timeout=30)
        for p in md.topics[a.prefix + t].partitions:
            lo, hi = c.get_watermark_offsets(TopicPartition(a.prefix + t, p), timeout=30)
            n += hi - lo
    c.close()
    print(n)


def cmd_wait_group(a):
    from confluent_kafka import ConsumerGroupState
    admin = AdminClient({"bootstrap.servers": a.bootstrap})
    deadline = time.time() + a.timeout
    while time.time() < deadline:
        try:
            d = admin.describe_consumer_groups([a.group])[a.group].result(timeout=10)
            if d.state == ConsumerGroupState.STABLE and any(
                    m.assignment and m.assignment.topic_partitions for m in d.members):
                return
        except Exception:  # not known yet
            pass
        time.sleep(0.2)
    sys.exit(f"replay: group {a.group} not stable within {a.timeout}s")


def cmd_collect(a):
    sch = fastavro.parse_schema(strip_logical(json.load(open(f"{a.schemas}/lead_rerating.avsc"))))
    lines = []
    for (_, _, k, v) in read_all(a.bootstrap, a.topic, "peers-check-collect"):
        if v[0] != 0 or struct.unpack(">I", v[1:5])[0] != 10:
            sys.exit(f"replay: {a.topic}: a record without the LeadRerating framing")
        r = fastavro.schemaless_reader(io.BytesIO(v[5:]), sch, sch)
        if k.decode() != r["customer_id"]:
            sys.exit(f"replay: {a.topic}: key {k!r} is not the customer {r['customer_id']}")
        lines.append(f"{r['customer_id']}\t{r['tier']}\t{r['trigger_event_id']}")
    lines.sort()
    with open(a.out, "w") as f:
        f.write("".join(l + "\n" for l in lines))
    print(f"{a.topic}: {len(lines)} tier changes", file=sys.stderr)


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("stage")
    s.add_argument("--bootstrap", required=True)
    s.add_argument("--schemas", required=True)
    s.add_argument("--out", required=True)
    r = sub.add_parser("rounds")
    r.add_argument("--bootstrap", required=True)
    r.add_argument("--in", dest="inp", required=True)
    r.add_argument("--prefix", required=True)
    r.add_argument("--group", required=True)
    r.add_argument("--timeout", type=float, default=60)
    n = sub.add_parser("count")
    n.add_argument("--bootstrap", required=True)
    n.add_argument("--prefix", default="")
    wg = sub.add_parser("wait-group")
    wg.add_argument("--bootstrap", required=True)
    wg.add_argument("--group", required=True)
    wg.add_argument("--timeout", type=float, default=60)
    c = sub.add_parser("collect")
    c.add_argument("--bootstrap", required=True)
    c.add_argument("--topic", required=True)
    c.add_argument("--schemas", required=True)
    c.add_argument("--out", required=True)
    a = ap.parse_args()
    {"stage": cmd_stage, "rounds": cmd_rounds, "count": cmd_count,
     "wait-group": cmd_wait_group, "collect": cmd_collect}[a.cmd](a)


if __name__ == "__main__":
    main()
