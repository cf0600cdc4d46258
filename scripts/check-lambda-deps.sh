#!/usr/bin/env bash
# The Lambda functions link no command-line, chart, progress-bar or sandbox code: the
# packages that hold their binaries (worker, orchestrator) must not depend on clap,
# plotters or indicatif, nor on the `mcflow` CLI package (where the sandbox lives).
# `cargo tree` reads the lock file only; it builds nothing.
set -euo pipefail
cd "$(dirname "$0")/.."

status=0
for package in worker orchestrator; do
  tree=$(cargo tree --locked -e normal -p "$package" --prefix none -f '{p}')
  for forbidden in clap plotters indicatif mcflow; do
    if grep -qE "^$forbidden v" <<<"$tree"; then
      echo "error: the $package package (a Lambda binary's) depends on $forbidden:" >&2
      cargo tree --locked -e normal -p "$package" -i "$forbidden" >&2 || true
      status=1
    fi
  done
done
[ "$status" -eq 0 ] && echo "ok: the Lambda packages (worker, orchestrator) link no clap, plotters, indicatif or mcflow CLI code"
exit "$status"
