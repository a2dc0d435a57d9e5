#!/usr/bin/env bash
# deploy/grafana/dealstream.json: valid JSON, every query valid PromQL
# (`promtool check rules` on them as recording rules, Grafana's variables
# replaced), and every metric a query names is one the daemon exposes
# (its names in daemon/metrics.c and processors/*/*.c), so a renamed
# metric breaks this test rather than a panel.
set -euo pipefail
: "${DS_SRC:?}"
command -v promtool >/dev/null ||
  { echo "FAIL: promtool missing: the Debian package prometheus (scripts/dev deps test)" >&2; exit 1; }
WORK=$(mktemp -d /tmp/ds-grafana-XXXXXX)
trap 'rm -rf "$WORK"' EXIT
python3 - "$DS_SRC" "$WORK" <<'PY'
import json, re, sys
src, work = sys.argv[1], sys.argv[2]
dash = json.load(open(f"{src}/deploy/grafana/dealstream.json"))
# The runtime's names, and the histograms processors declare
# (processor_ops.metrics, in their own .c files).
import glob
exposed = set()
for f in [f"{src}/daemon/metrics.c"] + sorted(glob.glob(f"{src}/processors/*/*.c")):
    exposed |= set(re.findall(r'"((?:dealstream|process)_[a-z_]+)"', open(f).read()))
exprs = [t["expr"] for p in dash["panels"] for t in p.get("targets", [])]
if len(exprs) < 15:
    sys.exit(f"FAIL: only {len(exprs)} queries")
rules = ["groups:", "  - name: dashboard", "    rules:"]
for i, e in enumerate(exprs):
    for name in re.findall(r'\b((?:dealstream|process)_[a-z_]+)\b', e):
        base = re.sub(r'_(bucket|sum|count)$', '', name)
        if name not in exposed and base not in exposed:
            sys.exit(f"FAIL: the dashboard queries {name}, which the daemon does not expose")
    e = (e.replace("$__rate_interval", "5m").replace("$job", ".*")
          .replace("$instance", ".*"))
    rules += [f"      - record: dashboard:q{i}", f"        expr: {json.dumps(e)}"]
open(f"{work}/rules.yaml", "w").write("\n".join(rules) + "\n")
print(f"ok: {len(exprs)} queries name only exposed metrics")
PY
promtool check rules "$WORK/rules.yaml" >"$WORK/promtool.log" 2>&1 ||
  { cat "$WORK/promtool.log"; echo "FAIL: a query is not valid PromQL" >&2; exit 1; }
echo "ok: promtool check rules: every query parses"
