#!/usr/bin/env bash
# The Lambda functions link no command-line, progress-bar or sandbox code: the packages
# that hold their binaries (worker, orchestrator) must not depend on clap or indicatif,
# nor on the `mcflow` CLI package (where the sandbox lives). plotters is allowed (its
# SVG backend only, no fonts): the reducer draws the charts of the run's report page.
# `cargo tree` reads the lock file only; it builds nothing.
set -euo pipefail
cd "$(dirname "$0")/.."

status=0
for package in worker orchestrator; do
  tree=$(cargo tree --locked -e normal -p "$package" --prefix none -f '{p}')
  for forbidden in clap indicatif mcflow; do
    if grep -qE "^$forbidden v" <<<"$tree"; then
      echo "error: the $package package (a Lambda binary's) depends on $forbidden:" >&2
      cargo tree --locked -e normal -p "$package" -i "$forbidden" >&2 || true
      status=1
    fi
  done
done
[ "$status" -eq 0 ] && echo "ok: the Lambda packages (worker, orchestrator) link no clap, indicatif or mcflow CLI code"
exit "$status"
