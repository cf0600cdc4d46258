#!/usr/bin/env bash
# Installs the tools the test suite drives, each into its own git-ignored venv under
# .tools/ (their pins conflict): moto server (S3, SQS, CloudFormation on 127.0.0.1),
# cfn-lint with aws-sam-translator, checkov, aws-sam-cli, DuckDB (the Athena
# stand-in), QuantLib (the Hull-White calibration's oracle), and for the report page's
# browser test Debian's chromium and chromium-driver with selenium to drive them.
# Idempotent: a venv that already has its pinned package is kept, and the browser
# packages are installed only when /usr/bin/chromium or /usr/bin/chromedriver is
# missing. Needs python3 with venv and access to PyPI (and, for the browser, apt-get
# as root). With arguments, installs only the named venvs (venv, cfn, checkov, sam,
# duckdb, quantlib, browser).
set -euo pipefail
cd "$(dirname "$0")/.."

# Only the venvs named as arguments (e.g. `scripts/setup-tools.sh venv` for moto alone),
# or all of them.
WANTED=" $* "

# venv name, the module to check, its pinned version, what to install
tool() {
  local name="$1" module="$2" version="$3"
  shift 3
  if [ "$WANTED" != "  " ] && [[ "$WANTED" != *" $name "* ]]; then
    return 0
  fi
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
tool browser selenium 4.45.0 "selenium==4.45.0"

# Debian's browser and its WebDriver (the browser test drives /usr/bin/chromium through
# /usr/bin/chromedriver; selenium never downloads a browser of its own).
if { [ "$WANTED" = "  " ] || [[ "$WANTED" == *" browser "* ]]; } &&
  { [ ! -x /usr/bin/chromium ] || [ ! -x /usr/bin/chromedriver ]; }; then
  if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null; then
    echo "error: the browser test needs Debian's chromium and chromium-driver; install them with 'sudo apt-get install chromium chromium-driver'" >&2
    exit 1
  fi
  echo "== installing chromium and chromium-driver (apt-get)"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null
fi
