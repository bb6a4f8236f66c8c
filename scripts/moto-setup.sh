#!/usr/bin/env bash
# Installs moto's server (the AWS KMS API the chain tests sign with, see
# scripts/kms-test-server.py) into a venv under .tools/moto, from PyPI at the pinned version.
# Run by `make setup`; safe to re-run.
set -euo pipefail
cd "$(dirname "$0")/.."

python=${PYTHON:-python3}
command -v "$python" >/dev/null || { echo "moto-setup: $python not found; install Python 3 (3.9 or newer)" >&2; exit 1; }

if [ ! -x .tools/moto/bin/python ]; then
  mkdir -p .tools
  "$python" -m venv .tools/moto
fi
.tools/moto/bin/pip install --quiet --disable-pip-version-check -r scripts/moto-requirements.txt
.tools/moto/bin/python -c 'import moto, cryptography; print("moto", moto.__version__, "cryptography", cryptography.__version__)'
touch .tools/moto/.installed
