#!/usr/bin/env bash
# The whole test suite, exactly as CI runs it: formatting, lints, then every test of
# every crate. Run from anywhere; it works from the repository root.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== tools (moto, cfn-lint, checkov, sam, duckdb in .tools/)"
./scripts/setup-tools.sh
echo "== template.yaml checks"
./scripts/check-template.sh
echo "== cargo fmt --check"
cargo fmt --all -- --check
echo "== cargo clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings
echo "== cargo test"
cargo test --workspace --locked
echo "== Lambda artifacts (the make path sam build runs, on the test build's profile)"
PROFILE=dev ./scripts/check-artifacts.sh
