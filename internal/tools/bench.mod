// The benchmark tools, pinned apart from the project's own dependencies:
// go tool -modfile=internal/tools/bench.mod benchstat
module github.com/acme/bff-gateway/internal/tools/bench

go 1.26.8

tool golang.org/x/perf/cmd/benchstat

require golang.org/x/perf v0.0.0-20260908200009-22c9c6c9d4da

require github.com/aclements/go-moremath v0.0.0-20210112150236-f10218a38794 // indirect
