#!/usr/bin/env bash
# Publishes the current contract: writes the image of proto/ that `buf breaking` checks every
# later change against (tests/run-all.sh). Run it only when releasing; commit the image with
# the release.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
tests/tools/node_modules/.bin/buf build -o api/cif.v1.binpb
echo "published the cif.v1 image to api/cif.v1.binpb"
