#!/usr/bin/env bash
# The cost of telemetry on both BFFs (docs/benchmarks.md): Dashboard and
# Home with the BFF's telemetry off, with metrics (the default), and with
# metrics and 10 % of traces exported. Each mode runs in a process of its
# own, the modes taking turns round after round, so that a drift of the
# machine over the minutes falls on all three alike; benchstat then
# compares them. About 7 minutes on 2 cores.
#
#   internal/tools/bench-telemetry.sh [rounds]   (default 8)
set -euo pipefail
cd "$(dirname "$0")/../.."
rounds=${1:-8}
out=var/bench/telemetry.txt
mkdir -p var/bench
: >"$out"
bin=$(mktemp -d)
trap 'rm -rf "$bin"' EXIT
go test -c -o "$bin/web.test" ./bff-web/app
go test -c -o "$bin/mobile.test" ./bff-mobile/app
for round in $(seq "$rounds"); do
  for mode in off metrics 'metrics\+traces10pct'; do
    (cd bff-web/app && "$bin/web.test" -test.run '^$' -test.bench "^BenchmarkDashboardTelemetry\$/^telemetry=$mode\$" \
      -test.benchmem -test.benchtime 3s) | grep -E '^(Benchmark|goos|goarch|pkg|cpu)' >>"$out"
    (cd bff-mobile/app && "$bin/mobile.test" -test.run '^$' -test.bench "^BenchmarkHomeTelemetry\$/^telemetry=$mode\$" \
      -test.benchmem -test.benchtime 3s) | grep -E '^(Benchmark|goos|goarch|pkg|cpu)' >>"$out"
  done
  echo "round $round of $rounds done" >&2
done
go tool -modfile=internal/tools/bench.mod benchstat -col /telemetry "$out"
echo "raw figures: $out" >&2
