#!/usr/bin/env bash
# Fails when a generated Go file is not what `make generate` writes from the
# working tree's schemas and configs. Generated files are the ones Go's
# convention marks ("// Code generated ... DO NOT EDIT."); gqlgen's
# resolver files hold the hand-written resolvers and are not compared, so
# an edit in progress there never reads as stale generated code.
set -euo pipefail
cd "$(dirname "$0")/../.."
make=${MAKE:-make}

generated() {
  grep -rlE '^// Code generated .* DO NOT EDIT\.$' --include='*.go' graph bff-web bff-mobile | sort
}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
generated >"$tmp/before"
mkdir "$tmp/old"
tar -cf - -T "$tmp/before" | tar -xf - -C "$tmp/old"

"$make" --no-print-directory generate >/dev/null

stale=$(sort -u "$tmp/before" <(generated) | while read -r f; do
  cmp -s "$f" "$tmp/old/$f" || echo "  $f"
done)
if [ -n "$stale" ]; then
  echo "generated code is stale: run 'make generate' and commit:"
  echo "$stale"
  exit 1
fi
echo "generated code is up to date"
