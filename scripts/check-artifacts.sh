#!/usr/bin/env bash
# Builds the x86_64 Lambda artifacts exactly as `sam build` does (`make lambda`), then
# checks each: it exists, it needs no glibc newer than the 2.34 of provided.al2023, and
# it starts and fails fast, with a message, outside Lambda.
#
#   scripts/check-artifacts.sh           # the release artifacts (about 12 minutes cold)
#   PROFILE=dev SELECT="--workspace --all-targets" scripts/check-artifacts.sh
#                                        # CI: the same make target, selecting what the
#                                        # test build built, so it compiles nothing again
set -euo pipefail
cd "$(dirname "$0")/.."

ARCH=x86_64
PROFILE=${PROFILE:-release}
[ "$(uname -m)" = x86_64 ] || { echo "check-artifacts.sh builds x86_64 artifacts on an x86_64 host" >&2; exit 1; }
make --no-print-directory lambda ARCH=$ARCH PROFILE="$PROFILE" ${SELECT:+SELECT="$SELECT"}
dir=${CARGO_TARGET_DIR:-target}/$([ "$PROFILE" = dev ] && echo debug || echo "$PROFILE")
for bin in mcflow-worker-lambda mcflow-orchestrator-lambda mcflow-reducer-lambda mcflow-pretraffic-lambda; do
  path="$dir/$bin"
  [ -x "$path" ] || { echo "missing artifact $path" >&2; exit 1; }
  newest=$(objdump -T "$path" | grep -o 'GLIBC_2\.[0-9]*' | sort -t. -k2 -n -u | tail -1)
  minor=${newest#GLIBC_2.}
  if [ "$minor" -gt 34 ]; then
    echo "$bin needs $newest; provided.al2023 has glibc 2.34" >&2
    exit 1
  fi
  set +e
  msg=$(env -i timeout 10 "$path" 2>&1)
  rc=$?
  set -e
  if [ "$rc" -eq 0 ] || [ "$rc" -eq 124 ] || [ -z "$msg" ]; then
    echo "$bin outside Lambda: exit $rc, output '$msg' (expected a quick failure with a message)" >&2
    exit 1
  fi
  echo "ok: $bin ($(du -h "$path" | cut -f1), newest glibc symbol $newest)"
done
