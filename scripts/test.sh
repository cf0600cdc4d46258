#!/usr/bin/env bash
# The whole test suite, exactly as CI runs it: formatting, the Lambda packages' link
# check, then one build of every target that is also the lint pass, every test of every
# crate, and the Lambda artifacts through the make path `sam build` runs. Run from
# anywhere; it works from the repository root.
#
# Time (2 cores): the Python tools (moto, cfn-lint, checkov, sam, duckdb) install in the
# background while the workspace compiles, since one waits on the network and the other
# on the CPU. Clippy lints during the test build: clippy-driver compiles the workspace's
# own crates (`RUSTC_WORKSPACE_WRAPPER`, what `cargo clippy` sets) with `-D warnings`, so
# the lints are those of `cargo clippy --workspace --all-targets -- -D warnings` without
# type-checking every dependency a second time. The artifact step runs the Makefile's
# `lambda` target on the same selection and profile, so it compiles nothing again.
# Tests run under cargo-nextest when it is installed (every test in its own process,
# across test binaries at once), else under `cargo test`.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '== %s (%ds)\n' "$1" "$SECONDS"; }

# The debug build of every target takes about 3.5 GB (3.3 GB measured on a fresh clone,
# 2026-11-30) and the tools about 1.5 GB. A full disk shows up deep in a compile as an
# LLVM "IO failure on output stream", so say what is free before starting.
free_mb=$(df -Pm . | awk 'NR == 2 { print $4 }')
step "disk: ${free_mb} MB free here; the suite needs about 5,000 MB (target/ and .tools/)"
if [ "${free_mb:-0}" -lt 5000 ]; then
  echo "warning: less than 5,000 MB free; the build may fail with 'No space left on device'" >&2
fi

step "tools: installing in the background (log: .tools/setup.log)"
mkdir -p .tools
./scripts/setup-tools.sh >.tools/setup.log 2>&1 &
tools=$!
wait_for_tools() {
  if ! wait "$tools"; then
    cat .tools/setup.log >&2
    echo "error: scripts/setup-tools.sh failed (log above); it needs python3 with venv and access to PyPI" >&2
    exit 1
  fi
}

step "cargo fmt --check"
cargo fmt --all -- --check
step "the Lambda packages link no CLI code"
./scripts/check-lambda-deps.sh

clippy_driver=$(command -v clippy-driver || true)
[ -n "$clippy_driver" ] || {
  echo "error: clippy-driver not found; install clippy with 'rustup component add clippy'" >&2
  exit 1
}
export RUSTC_WORKSPACE_WRAPPER="$clippy_driver"
export RUSTFLAGS="${RUSTFLAGS:-} -D warnings"

step "build every target, linting the workspace with clippy (-D warnings)"
cargo test --workspace --all-targets --locked --no-run
step "waiting for the tools"
wait_for_tools
cat .tools/setup.log
step "template.yaml checks"
./scripts/check-template.sh
step "tests"
if cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run --workspace --locked --no-fail-fast
else
  echo "(cargo-nextest not found: running cargo test; install it with 'cargo install cargo-nextest --locked')"
  cargo test --workspace --locked
fi
step "Lambda artifacts (the make target sam build runs, on the test build)"
PROFILE=dev SELECT="--workspace --all-targets" ./scripts/check-artifacts.sh
step "sam build: each function's binary is built for its architecture"
PROFILE=dev SELECT="--workspace --all-targets" ./scripts/check-sam-build.sh
step "done"
