#!/usr/bin/env bash
# The whole test suite, exactly as CI runs it: formatting, the Lambda packages' link
# check, lints, then every test of every crate, then the Lambda artifacts through the
# make path `sam build` runs. Run from anywhere; it works from the repository root.
#
# One feature set serves the tests and the artifacts (see the workspace Cargo.toml), so
# the artifact step reuses the test build instead of compiling the workspace again.
# Tests run under cargo-nextest when it is installed (every test in its own process,
# across test binaries at once), else under `cargo test`.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '== %s (%ds)\n' "$1" "$SECONDS"; }

step "tools (moto, cfn-lint, checkov, sam, duckdb in .tools/)"
./scripts/setup-tools.sh
step "template.yaml checks"
./scripts/check-template.sh
step "cargo fmt --check"
cargo fmt --all -- --check
step "the Lambda packages link no CLI code"
./scripts/check-lambda-deps.sh
step "cargo clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings
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
