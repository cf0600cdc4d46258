#!/usr/bin/env bash
# Installs the tools the test suite drives, each into its own git-ignored venv under
# .tools/ (their pins conflict): moto server (S3, SQS, CloudFormation on 127.0.0.1),
# cfn-lint with aws-sam-translator, checkov, aws-sam-cli, DuckDB (the Athena
# stand-in) and QuantLib (the Hull-White calibration's oracle). Idempotent: a venv
# that already has its pinned package is kept. Needs python3 with venv and access to
# PyPI.
set -euo pipefail
cd "$(dirname "$0")/.."

# venv name, the module to check, its pinned version, what to install
tool() {
  local name="$1" module="$2" version="$3"
  shift 3
  local venv=".tools/$name"
  if [ -x "$venv/bin/python" ] && "$venv/bin/python" - "$module" "$version" <<'PY' 2>/dev/null; then
import importlib.metadata, sys
sys.exit(importlib.metadata.version(sys.argv[1]) != sys.argv[2])
PY
    return 0
  fi
  echo "== installing $* into $venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "$@"
}

tool venv moto 5.2.5 "moto[server]==5.2.5"
tool cfn cfn-lint 1.58.0 "cfn-lint==1.58.0" "aws-sam-translator==1.115.0"
tool checkov checkov 3.3.30 "checkov==3.3.30"
tool sam aws-sam-cli 1.170.0 "aws-sam-cli==1.170.0"
tool duckdb duckdb 2.0.1 "duckdb==2.0.1"
tool quantlib QuantLib 1.44 "QuantLib==1.44"
