#!/usr/bin/env bash
# Regenerates the Python and TypeScript clients' code from proto/, into the repository or,
# with an argument, under another directory (to compare: tests/run-all.sh checks that
# regenerating changes nothing). Generator versions are pinned: Python's in
# tests/tools/requirements.txt, TypeScript's in clients/typescript/package-lock.json. Needs
# the tools tests/run-all.sh installs.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
base="${1:-$root}"
tools="$root/tests/tools"

# Python: grpcio-tools (messages and gRPC stubs) with mypy-protobuf's type stubs.
out="$base/clients/python/src"
rm -rf "$out/cif"
mkdir -p "$out"
"$tools/venv/bin/python" -m grpc_tools.protoc -I proto \
  --plugin=protoc-gen-mypy="$tools/venv/bin/protoc-gen-mypy" \
  --plugin=protoc-gen-mypy_grpc="$tools/venv/bin/protoc-gen-mypy_grpc" \
  --python_out="$out" --grpc_python_out="$out" --mypy_out=quiet:"$out" --mypy_grpc_out=quiet:"$out" \
  proto/cif/v1/*.proto
# Packages for setuptools (the generated modules import each other as cif.v1.*).
touch "$out/cif/__init__.py" "$out/cif/v1/__init__.py"

# TypeScript: protoc-gen-es as a buf local plugin (buf.gen.yaml).
rm -rf "$base/clients/typescript/src/gen"
"$tools/node_modules/.bin/buf" generate -o "$base"
