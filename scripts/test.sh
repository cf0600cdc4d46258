#!/usr/bin/env bash
# The whole test suite, exactly as CI runs it: formatting, lints, then every test of
# every crate. Run from anywhere; it works from the repository root.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== tools (moto server for the cloud-path tests)"
./scripts/setup-tools.sh
echo "== cargo fmt --check"
cargo fmt --all -- --check
echo "== cargo clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings
echo "== cargo test"
cargo test --workspace --locked
