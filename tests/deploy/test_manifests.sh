#!/usr/bin/env bash
# Compose and Kubernetes manifests validate against their schemas (the schemas
# come from packages: check-jsonschema's vendored Compose Specification,
# kubernetes-validate's Kubernetes schemas); the Kustomize base renders; the
# configuration in its ConfigMap is one the bridge accepts; the alerting rules
# pass promtool; every metric the rules and the dashboard use exists.
source "$(dirname "$0")/lib.sh"
need check-jsonschema; need kubernetes-validate; need promtool
check-jsonschema --builtin-schema vendor.compose-spec deploy/compose.yaml
pass "deploy/compose.yaml validates against the Compose Specification"

kubernetes-validate --strict --quiet deploy/kubernetes/[!k]*.yaml || fail "a Kubernetes manifest"
KUSTOMIZE=${KUSTOMIZE:-$(command -v kustomize || echo "${XDG_CACHE_HOME:-$HOME/.cache}/portout-bridge/bin/kustomize")}
[ -x "$KUSTOMIZE" ] || fail "kustomize is not installed (scripts/install-deps.sh installs it)"
"$KUSTOMIZE" build deploy/kubernetes > "$WORK/rendered.yaml"
kubernetes-validate --strict --quiet "$WORK/rendered.yaml" || fail "the rendered base"
n=$(grep -c '^kind:' "$WORK/rendered.yaml")
[ "$n" -eq 5 ] || fail "rendered $n resources, want 5"
for k in Deployment Service ConfigMap PodDisruptionBudget NetworkPolicy; do
  grep -q "^kind: $k$" "$WORK/rendered.yaml" || fail "no $k"
done
python3 - "$WORK/rendered.yaml" "$WORK/k8s.conf" <<'PY' || fail "Deployment settings"
import sys, yaml
docs = [d for d in yaml.safe_load_all(open(sys.argv[1])) if d]
dep = next(d for d in docs if d["kind"] == "Deployment")
spec = dep["spec"]["template"]["spec"]
c = spec["containers"][0]
assert dep["spec"]["replicas"] == 2
assert spec["securityContext"]["runAsNonRoot"] is True
assert c["securityContext"]["readOnlyRootFilesystem"] is True
assert c["securityContext"]["capabilities"]["drop"] == ["ALL"]
assert c["livenessProbe"]["httpGet"]["port"] == "admin" and c["readinessProbe"]["httpGet"]["path"] == "/readyz"
assert spec["terminationGracePeriodSeconds"] > 40, "grace must exceed the 40 s drain bound"
assert "limits" in c["resources"] and "requests" in c["resources"]
cm = next(d for d in docs if d["kind"] == "ConfigMap")
open(sys.argv[2], "w").write(cm["data"]["portout-bridge.conf"])
PY
KAFKA_BROKERS=kafka:9092 TELNYX_PUBLIC_KEY=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo= TELNYX_API_KEY=from-the-secret \
  "$PB_BIN" -c "$WORK/k8s.conf" check-config > "$WORK/check.txt" || { cat "$WORK/check.txt"; fail "the ConfigMap's configuration"; }
pass "deploy/kubernetes: every manifest and the rendered Kustomize base validate (--strict), the ConfigMap's configuration passes check-config"

promtool check rules deploy/monitoring/alerts.yaml > "$WORK/promtool.txt" || { cat "$WORK/promtool.txt"; fail "promtool"; }
# The certificate rules fire on the series the bridge exports, and only then.
promtool test rules tests/deploy/alerts_test.yaml > "$WORK/promtest.txt" 2>&1 || { cat "$WORK/promtest.txt"; fail "promtool test rules"; }
"$PB_BIN" check-config --metrics | sed -n 's/^| `\([a-z_]*\)`.*/\1/p' > "$WORK/metrics"
python3 - deploy/monitoring/alerts.yaml deploy/monitoring/dashboard.json "$WORK/metrics" <<'PY' || fail "unknown metrics"
import json, re, sys
known = set(open(sys.argv[3]).read().split())
text = open(sys.argv[1]).read() + json.dumps(json.load(open(sys.argv[2])))
used = set(re.findall(r"portout_bridge_[a-z_]+", text))
used = {re.sub(r"_(bucket|sum|count)$", "", m) if m.startswith("portout_bridge_ack_seconds") else m for m in used}
unknown = sorted(used - known)
assert not unknown, f"used but not exported: {unknown}"
print(f"{len(used)} metrics used, all exported")
PY
pass "deploy/monitoring: $(grep -o '[0-9]* rules found' "$WORK/promtool.txt"), dashboard and rules use only exported metrics"
