#!/usr/bin/env bash
# The whole test suite, exactly as CI runs it: formatting, the Lambda packages' link
# check, lints, every test of every crate, then the Lambda artifacts through the make path
# `sam build` runs. Run from anywhere; it works from the repository root.
#
# The Python tools (moto, cfn-lint, checkov, sam, duckdb) install in the background while
# the workspace compiles: the install waits on the network, the build on the CPU.
# The artifact step reuses the test build's profile (only the two function crates are
# compiled again). Tests run under cargo-nextest when it is installed (every test in its
# own process, across test binaries at once), else under `cargo test`.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '== %s (%ds)\n' "$1" "$SECONDS"; }

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
step "cargo clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings
step "building the tests"
cargo test --workspace --locked --no-run
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
step "Lambda artifacts (the make path sam build runs, on the test build's profile)"
PROFILE=dev ./scripts/check-artifacts.sh
step "done"
