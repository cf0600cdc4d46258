#!/usr/bin/env bash
# Installs the emulators the test suite drives into a git-ignored venv under .tools/:
# moto server (S3 and SQS on 127.0.0.1). Idempotent: a venv with the pinned version is
# kept. Needs python3 with venv and access to PyPI.
set -euo pipefail
cd "$(dirname "$0")/.."

MOTO_VERSION="5.2.5"
VENV=".tools/venv"
if [ -x "$VENV/bin/moto_server" ] && "$VENV/bin/python" -c "import moto, sys; sys.exit(moto.__version__ != '$MOTO_VERSION')" 2>/dev/null; then
  exit 0
fi
echo "== installing moto[server]==$MOTO_VERSION into $VENV"
python3 -m venv "$VENV"
"$VENV/bin/pip" install --quiet --disable-pip-version-check "moto[server]==$MOTO_VERSION"
