#!/usr/bin/env bash
# deploy/helm/dealstream with the real helm (built from the Go module proxy
# by `scripts/dev deps test`): `helm lint --strict`, then `helm template`
# with the defaults and with the options on, checked as parsed manifests:
# the StatefulSet's probes, volume, ports, security and the config
# checksum, and the rendered processor.yaml loaded by `dealstream
# check-config` (with the image's schema paths pointed at the source tree).
set -euo pipefail
: "${DS_BIN:?}" "${DS_SRC:?}"
HELM=${DS_HELM:-$HOME/.cache/dealstream/bin/helm}
[ -x "$HELM" ] || HELM=$(command -v helm || true)
[ -n "$HELM" ] && [ -x "$HELM" ] ||
  { echo "FAIL: helm missing: scripts/dev deps test builds it" >&2; exit 1; }
WORK=$(mktemp -d /tmp/ds-helm-XXXXXX)
trap 'rm -rf "$WORK"' EXIT
CHART="$DS_SRC/deploy/helm/dealstream"

"$HELM" lint --strict "$CHART" >"$WORK/lint.log" 2>&1 ||
  { cat "$WORK/lint.log"; echo "FAIL: helm lint" >&2; exit 1; }
echo "ok: helm lint --strict ($("$HELM" version --short 2>/dev/null))"

"$HELM" template ds "$CHART" >"$WORK/default.yaml"
"$HELM" template ds "$CHART" --set serviceMonitor.enabled=true \
  --set config.http.reload=true --set replicas=5 \
  --set config.processors.coaching.idle_timeout=5m >"$WORK/options.yaml"
"$HELM" template ds "$CHART" --set config.processors.coaching.idle_timeout=5m \
  >"$WORK/changed.yaml"

python3 - "$WORK" <<'PY'
import hashlib, sys, yaml
work = sys.argv[1]
def docs(name):
    return {d["kind"]: d for d in yaml.safe_load_all(open(f"{work}/{name}")) if d}
def check(cond, what):
    if not cond:
        sys.exit(f"FAIL: {what}")

d = docs("default.yaml")
check(set(d) == {"ConfigMap", "Service", "StatefulSet", "PodDisruptionBudget"},
      f"default kinds: {sorted(d)}")
sts = d["StatefulSet"]["spec"]
pod = sts["template"]["spec"]
c = pod["containers"][0]
cfg = yaml.safe_load(d["ConfigMap"]["data"]["processor.yaml"])
check(cfg["state"]["dir"] == "/var/lib/dealstream/state", "state.dir")
port = int(cfg["http"]["listen"].rsplit(":", 1)[1])
check(c["ports"][0]["containerPort"] == port, "container port = http.listen")
check(c["livenessProbe"]["httpGet"]["path"] == "/healthz", "liveness /healthz")
check(c["startupProbe"]["httpGet"]["path"] == "/healthz", "startup /healthz")
check(c["readinessProbe"]["httpGet"]["path"] == "/readyz", "readiness /readyz")
check(c["args"][:3] == ["run", "-c", "/etc/dealstream/processor.yaml"], "args")
mounts = {m["name"]: m["mountPath"] for m in c["volumeMounts"]}
check(mounts["state"] == "/var/lib/dealstream", "state volume on the state dir")
check(mounts["config"] == "/etc/dealstream", "config mount")
check(sts["volumeClaimTemplates"][0]["metadata"]["name"] == "state", "PVC")
check(c["securityContext"]["readOnlyRootFilesystem"] is True, "read-only root")
check(pod["securityContext"]["runAsNonRoot"] is True, "non-root")
check(c["resources"]["requests"]["memory"] and c["resources"]["limits"]["memory"],
      "memory request and limit")
text = d["ConfigMap"]["data"]["processor.yaml"]
ann = sts["template"]["metadata"]["annotations"]["checksum/config"]
check(ann == hashlib.sha256(text.rstrip("\n").encode()).hexdigest(),
      "checksum annotation = sha256 of the ConfigMap's processor.yaml")
svc = d["Service"]
check(svc["spec"]["clusterIP"] == "None", "headless service")
check(svc["metadata"]["annotations"]["prometheus.io/port"] == str(port),
      "prometheus.io/port")
check(d["PodDisruptionBudget"]["spec"]["maxUnavailable"] == 1, "PDB")

o = docs("options.yaml")
check("ServiceMonitor" in o, "ServiceMonitor when enabled")
check(o["ServiceMonitor"]["spec"]["endpoints"][0]["port"] == "http", "SM port")
check(o["StatefulSet"]["spec"]["replicas"] == 5, "replicas")
check(yaml.safe_load(o["ConfigMap"]["data"]["processor.yaml"])["http"]["reload"]
      is True, "config.http.reload passes through")

ch = docs("changed.yaml")
a2 = ch["StatefulSet"]["spec"]["template"]["metadata"]["annotations"]["checksum/config"]
check(a2 != ann, "a config change changes the checksum (pods roll)")
open(f"{work}/processor.yaml", "w").write(d["ConfigMap"]["data"]["processor.yaml"])
open(f"{work}/changed-processor.yaml", "w").write(ch["ConfigMap"]["data"]["processor.yaml"])
print("ok: helm template: StatefulSet, PVC, probes, ports, security, PDB, "
      "headless Service, ServiceMonitor, checksum rolls on a config change")
PY

# The rendered config must load: the image's schema paths -> the source tree.
for f in processor.yaml changed-processor.yaml; do
  sed -i "s|/usr/local/share/dealstream/schemas|$DS_SRC/schemas|g" "$WORK/$f"
  "$DS_BIN" check-config -c "$WORK/$f" >"$WORK/check.log" 2>&1 ||
    { cat "$WORK/check.log"; echo "FAIL: the chart's processor.yaml ($f) does not load" >&2; exit 1; }
done
echo "ok: the rendered processor.yaml passes dealstream check-config"
