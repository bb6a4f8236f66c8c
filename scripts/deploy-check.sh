#!/usr/bin/env bash
# Static checks of deploy/ (run by `make test`): the compose file with the real `docker compose
# config`, the Dockerfile with hadolint, the Helm chart with `helm lint` and `helm template` on
# the example values, the rendered manifests against the Kubernetes schemas, and Prometheus,
# Grafana and config files (deploy/tools/check_files.py). The tools come from
# scripts/deploy-setup.sh (`make setup`); a missing one fails the check, it is never skipped.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
tools="$root/deploy/tools"
cd "$root"

need() {
  if [ ! -x "$1" ]; then
    echo "deploy-check: $1 is missing; run \`make setup\` (scripts/deploy-setup.sh) first" >&2
    exit 1
  fi
}
need "$tools/.venv/bin/python"
need "$tools/.venv/bin/hadolint"
need "$tools/.venv/bin/kubernetes-validate"
need "$tools/bin/helm"
need "$tools/docker/cli-plugins/docker-compose"

step() { echo "deploy-check: $*"; }
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

# docker compose: the docker CLI with our compose plugin when the CLI is installed (it needs no
# engine for `config`), else the same compose binary standalone.
compose() {
  if command -v docker >/dev/null 2>&1; then
    DOCKER_CONFIG="$tools/docker" docker compose "$@"
  else
    "$tools/docker/cli-plugins/docker-compose" "$@"
  fi
}
step "docker compose config (all profiles, with .env.example)"
(
  cd deploy/compose
  for profile in "" monitoring; do
    MACH_ENV_FILE=.env.example compose --env-file .env.example ${profile:+--profile "$profile"} \
      -f docker-compose.yml config --quiet
  done
  # Every service of the monitoring profile and the three MACH roles are there.
  services="$(MACH_ENV_FILE=.env.example compose --env-file .env.example --profile monitoring config --services | sort | tr '\n' ' ')"
  for s in mach-operator-node mach-operator-proxy mach-verifier prometheus grafana node-exporter; do
    case " $services" in *" $s "*) ;; *) echo "deploy-check: compose service $s missing (have: $services)" >&2; exit 1 ;; esac
  done
)

step "hadolint deploy/Dockerfile"
"$tools/.venv/bin/hadolint" --config deploy/hadolint.yaml deploy/Dockerfile

chart=deploy/helm/mach-operator
step "helm lint --strict $chart (values-soneium.yaml)"
"$tools/bin/helm" lint --strict "$chart" -f "$chart/values-soneium.yaml" >"$tmp/lint.txt" || { cat "$tmp/lint.txt"; exit 1; }
step "helm template $chart (values-soneium.yaml), validated against Kubernetes 1.33 schemas"
"$tools/bin/helm" template mach "$chart" -f "$chart/values-soneium.yaml" >"$tmp/rendered.yaml"
# PodMonitor is a Prometheus Operator CRD without a bundled schema: check_files.py checks it.
"$tools/.venv/bin/kubernetes-validate" --strict --quiet --no-warn -k 1.33.0 "$tmp/rendered.yaml"
step "helm template $chart with the BLS key behind Cerberus (blsSigner.type=cerberus)"
"$tools/bin/helm" template mach "$chart" -f "$chart/values-soneium.yaml" \
  --set blsSigner.type=cerberus \
  --set blsSigner.cerberus.url=https://cerberus.signers.svc:50051 \
  --set-string blsSigner.cerberus.publicKeyG1=8000000000000000000000000000000000000000000000000000000000000001 \
  --set secrets.cerberusApiKey=k --set-string secrets.cerberusCaPem=pem >"$tmp/cerberus.yaml"
"$tools/.venv/bin/kubernetes-validate" --strict --quiet --no-warn -k 1.33.0 "$tmp/cerberus.yaml"
for want in NODE_BLS_SIGNER NODE_BLS_CERBERUS_URL NODE_BLS_CERBERUS_API_KEY NODE_BLS_CERBERUS_CA_FILE cerberus_ca.pem; do
  grep -q "$want" "$tmp/cerberus.yaml" || { echo "deploy-check: the Cerberus rendering lacks $want" >&2; exit 1; }
done
if grep -q "bls_key.json\|BLS_PRIVATE_KEY_PATH" "$tmp/cerberus.yaml"; then
  echo "deploy-check: the Cerberus rendering still mounts or names a BLS key file" >&2
  exit 1
fi
if "$tools/bin/helm" template mach "$chart" -f "$chart/values-soneium.yaml" --set blsSigner.type=cerberus >/dev/null 2>&1; then
  echo "deploy-check: blsSigner.type=cerberus rendered without blsSigner.cerberus.url; it must fail with a message" >&2
  exit 1
fi
# The chart must refuse to render without the operator's settings.
if "$tools/bin/helm" template mach "$chart" >/dev/null 2>&1; then
  echo "deploy-check: the chart rendered without avsConfigs/operator settings; it must fail with a message" >&2
  exit 1
fi

step "prometheus.yml, Grafana provisioning and dashboard, configs, rendered chart"
"$tools/.venv/bin/python" deploy/tools/check_files.py "$tmp/rendered.yaml"
step "all deploy checks passed"
