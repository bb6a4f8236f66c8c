"""Static checks of deploy/ that need more than a parser's exit code (run by
scripts/deploy-check.sh with deploy/tools/.venv's Python).

- Prometheus config: parses, every scrape job has a name and targets, job names are unique.
- Grafana: provisioning files parse; the dashboard JSON parses, has unique panel ids, and every
  metric its queries use is one that exists: exported by the node (crates/node/src/metrics.rs),
  promised by the verifier (the metric table of docs/production.md), or from node exporter /
  Prometheus itself.
- Compose configs: avs_configs.json, operator_proxy.yaml, mach-config.toml and genesis.json parse.
- Helm: the manifests `helm template` rendered (argv[1]) have ConfigMap files that parse, and the
  PodMonitor has the fields the Prometheus Operator requires.

Exit status 1 with one line per problem.
"""

import json
import re
import sys
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "deploy" / "compose"
problems = []


def problem(where, what):
    problems.append(f"{where}: {what}")


def load_yaml(path):
    try:
        return yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as e:
        problem(path.relative_to(ROOT), f"does not parse: {e}")
        return None


def check_prometheus():
    path = COMPOSE / "prometheus" / "prometheus.yml"
    conf = load_yaml(path)
    if not isinstance(conf, dict):
        return
    jobs = conf.get("scrape_configs") or []
    if not jobs:
        problem(path.name, "no scrape_configs")
    names = [j.get("job_name") for j in jobs]
    if len(set(names)) != len(names) or None in names:
        problem(path.name, f"job names missing or repeated: {names}")
    for job in jobs:
        targets = [t for sc in job.get("static_configs") or [] for t in sc.get("targets") or []]
        if not targets:
            problem(path.name, f"job {job.get('job_name')} has no targets")
        for t in targets:
            if not re.fullmatch(r"[A-Za-z0-9.-]+:\d+", t):
                problem(path.name, f"target {t!r} is not host:port")
    for required in ("mach-node", "mach-verifier"):
        if required not in names:
            problem(path.name, f"no {required} job")


def known_metrics():
    node = (ROOT / "crates" / "node" / "src" / "metrics.rs").read_text()
    names = set(re.findall(r'"((?:eigen|mach)_[a-z0-9_]+)"', node))
    doc = (ROOT / "docs" / "production.md").read_text()
    verifier = set(re.findall(r"`(mach_verifier_[a-z0-9_]+)`", doc))
    if not verifier:
        problem("docs/production.md", "lists no mach_verifier_* metric")
    return names, verifier


def metric_names(expr):
    # Identifiers of a PromQL expression that are not calls, once label matchers, strings and
    # ranges are removed; keywords go, and label names are dropped by the caller.
    bare = re.sub(r'\{[^}]*\}|"[^"]*"|\[[^\]]*\]', " ", expr)
    words = set(re.findall(r"\b([a-z_][a-z0-9_]*)\b(?!\s*\()", bare))
    keywords = {"by", "without", "on", "ignoring", "group_left", "group_right", "and", "or", "unless", "offset", "bool"}
    return {w for w in words if w not in keywords and "_" in w}


def check_grafana():
    for path in sorted((COMPOSE / "grafana" / "provisioning").rglob("*.yml")):
        conf = load_yaml(path)
        if isinstance(conf, dict) and conf.get("apiVersion") != 1:
            problem(path.relative_to(ROOT), "apiVersion must be 1")
    datasources = load_yaml(COMPOSE / "grafana" / "provisioning" / "datasources" / "prometheus.yml") or {}
    uids = {d.get("uid") for d in datasources.get("datasources", [])}
    node, verifier = known_metrics()
    labels = {"rollup", "avs", "method", "client_type", "instance", "job", "mode", "fstype", "mountpoint", "le"}
    boards = sorted((COMPOSE / "grafana" / "dashboards").glob("*.json"))
    if not boards:
        problem("deploy/compose/grafana/dashboards", "no dashboard")
    for path in boards:
        where = path.relative_to(ROOT)
        try:
            board = json.loads(path.read_text())
        except (OSError, ValueError) as e:
            problem(where, f"is not JSON: {e}")
            continue
        for key in ("uid", "title", "panels"):
            if key not in board:
                problem(where, f"has no {key}")
        current = [v.get("current", {}).get("value") for v in board.get("templating", {}).get("list", []) if v.get("type") == "datasource"]
        for value in current:
            if value not in uids:
                problem(where, f"default data source {value!r} is not provisioned ({sorted(uids)})")
        ids = [p.get("id") for p in board.get("panels", [])]
        if len(set(ids)) != len(ids):
            problem(where, "panel ids repeat")
        used = set()
        for panel in board.get("panels", []):
            if panel.get("type") == "row":
                continue
            targets = panel.get("targets") or []
            if not targets:
                problem(where, f"panel {panel.get('title')!r} has no query")
            for t in targets:
                expr = t.get("expr", "")
                if expr.count("(") != expr.count(")"):
                    problem(where, f"unbalanced parentheses in {expr!r}")
                for name in metric_names(expr) - labels:
                    base = re.sub(r"_(bucket|sum|count)$", "", name)
                    used.add(base)
                    if not (base in node or base in verifier or base == "up" or base.startswith("node_")):
                        problem(where, f"panel {panel.get('title')!r} uses {name}, which neither the node nor the verifier contract (docs/production.md) exports")
        for needed in ("mach_verifier_validated_block", "mach_verifier_validation_seconds", "eigen_performance_score", "mach_aggregator_errors_total"):
            if needed not in used:
                problem(where, f"no panel shows {needed}")


def check_compose_configs():
    configs = COMPOSE / "configs"
    try:
        json.loads((configs / "avs_configs.json").read_text())
    except (OSError, ValueError) as e:
        problem("deploy/compose/configs/avs_configs.json", e)
    load_yaml(configs / "operator_proxy.yaml")
    for chain in sorted((configs / "chain").iterdir()):
        try:
            conf = tomllib.loads((chain / "mach-config.toml").read_text())
            if not conf.get("prometheus", {}).get("external"):
                problem(chain / "mach-config.toml", "[prometheus].external must be true for Prometheus in another container")
            json.loads((chain / "genesis.json").read_text())
        except (OSError, ValueError, tomllib.TOMLDecodeError) as e:
            problem(chain.relative_to(ROOT), e)


def check_rendered(path):
    docs = [d for d in yaml.safe_load_all(Path(path).read_text()) if d]
    kinds = {d.get("kind") for d in docs}
    for kind in ("StatefulSet", "ConfigMap", "Secret", "Service", "PodMonitor"):
        if kind not in kinds:
            problem("helm template", f"renders no {kind}")
    for doc in docs:
        name = f"{doc.get('kind')}/{doc.get('metadata', {}).get('name')}"
        if doc.get("kind") == "ConfigMap":
            for key, text in (doc.get("data") or {}).items():
                try:
                    if key.endswith(".toml"):
                        tomllib.loads(text)
                    elif key.endswith(".json"):
                        json.loads(text)
                    elif key.endswith(".yaml"):
                        yaml.safe_load(text)
                except (ValueError, yaml.YAMLError, tomllib.TOMLDecodeError) as e:
                    problem(name, f"{key} does not parse: {e}")
        if doc.get("kind") == "PodMonitor":
            spec = doc.get("spec") or {}
            if not spec.get("selector", {}).get("matchLabels"):
                problem(name, "no spec.selector.matchLabels")
            endpoints = spec.get("podMetricsEndpoints") or []
            if not endpoints or not all(e.get("port") for e in endpoints):
                problem(name, "podMetricsEndpoints need a port each")
        if doc.get("kind") == "StatefulSet":
            pod = doc["spec"]["template"]["spec"]
            ports = {p["name"] for c in pod["containers"] for p in c.get("ports", [])}
            containers = {c["name"] for c in pod["containers"]}
            if not {"node", "proxy"} <= containers or not any(c.startswith("verifier-") for c in containers):
                problem(name, f"expected node, proxy and verifier containers, found {sorted(containers)}")
            if not pod.get("securityContext", {}).get("runAsNonRoot"):
                problem(name, "pods must run as non-root")
            if not doc["spec"].get("volumeClaimTemplates"):
                problem(name, "no persistent volume claim")
            if "node-metrics" not in ports:
                problem(name, "node-metrics port missing")


check_prometheus()
check_grafana()
check_compose_configs()
if len(sys.argv) > 1:
    check_rendered(sys.argv[1])
for p in problems:
    print(f"FAIL {p}")
if problems:
    sys.exit(1)
print("deploy files: prometheus.yml, Grafana provisioning and dashboard, compose configs" + (", rendered chart" if len(sys.argv) > 1 else "") + " ok")
