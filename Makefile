# The whole setup on a fresh machine: `make run` and `make test`.
GO        ?= go
BIN       := bin
SERVICES  := user order product
TEST_FLAGS ?= -count=1 -timeout 8m

.PHONY: soak all build run run-cluster test check fmt vet lint generate check-generated playground check-playground fuzz bench bench-compare bench-go bench-smoke clean observe bench-telemetry

all: build

## build: compile every binary into ./bin
build:
	@mkdir -p $(BIN)
	$(GO) build -o $(BIN)/user ./services/user
	$(GO) build -o $(BIN)/order ./services/order
	$(GO) build -o $(BIN)/product ./services/product
	$(GO) build -o $(BIN)/bff-web ./bff-web
	$(GO) build -o $(BIN)/bff-mobile ./bff-mobile
	$(GO) build -o $(BIN)/devstack ./internal/tools/devstack

## run: build and start the whole stack on its default ports (Ctrl-C stops it)
run: build
	@$(BIN)/devstack -bin $(BIN)

## run-cluster: the stack scaled out: Redis, three replicas of each BFF sharing their state in it,
## and HAProxy in front of them on the BFFs' usual ports (needs redis-server and haproxy)
run-cluster: build
	@$(BIN)/devstack -bin $(BIN) -cluster

## observe: Prometheus on 127.0.0.1:9090, scraping the stack `make run` started, with the
## alerting rules of deploy/prometheus (the Grafana dashboard: deploy/grafana/dashboard.json)
observe:
	@if ! command -v prometheus >/dev/null; then \
	  echo "observe: prometheus is not installed: apt-get install prometheus (Debian, Ubuntu)"; \
	  echo "         or get it from https://prometheus.io/download/"; \
	  exit 1; fi
	@echo "observe: expects 'make run' to be running (in another terminal); it scrapes its five admin listeners."
	@echo "observe: open http://127.0.0.1:9090 (targets: /targets, alerts: /alerts); import"
	@echo "         deploy/grafana/dashboard.json into Grafana with it as the data source. Ctrl-C stops it."
	@mkdir -p var/prometheus
	prometheus --config.file=deploy/prometheus/prometheus.yml --storage.tsdb.path=var/prometheus --web.listen-address=127.0.0.1:9090

## generate: regenerate the gqlgen code: the shared models, then each BFF's schema
generate:
	$(GO) run ./internal/tools/gqlmodels
	cd bff-web && $(GO) run ../internal/tools/gqlexec
	cd bff-mobile && $(GO) run ../internal/tools/gqlexec

## check-generated: fail when a generated file is not what make generate writes
check-generated:
	@MAKE=$(MAKE) internal/tools/check-generated.sh

PLAYGROUND := internal/bff/playground

## playground: rebuild the playground bundle (internal/bff/playground/dist) from its pinned npm packages
playground:
	cd $(PLAYGROUND)/web && npm ci --no-audit --no-fund && npm run build

## check-playground: fail when the committed bundle is not what package-lock.json builds
## (skipped, saying so, on a machine without npm outside CI)
check-playground:
	@if ! command -v npm >/dev/null && [ -z "$$CI" ]; then \
	  echo "check-playground: skipped, npm is not installed"; exit 0; fi; \
	$(MAKE) --no-print-directory playground && \
	git diff --exit-code --stat -- $(PLAYGROUND)/dist && \
	  test -z "$$(git status --porcelain -- $(PLAYGROUND)/dist)" || \
	  (echo "playground bundle is stale: run 'make playground' and commit $(PLAYGROUND)/dist"; exit 1)

## check: formatting, vet, the linter, and up-to-date generated code and playground bundle
check: fmt vet lint check-generated check-playground

fmt:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet ./...

# The linter is pinned apart from the project's dependencies
# (internal/tools/lint.mod); .golangci.yml says which linters and why.
LINT := $(GO) tool -modfile=internal/tools/lint.mod golangci-lint

## lint: golangci-lint on the whole tree
lint:
	$(LINT) run ./...

# A count, not a duration: a time-boxed fuzz run can end on a spurious
# "context deadline exceeded" when its time runs out mid-step.
FUZZTIME ?= 20000x
FUZZ_TARGETS := \
	./internal/bff/guard:FuzzDecodeRequest \
	./internal/auth:FuzzBearerToken \
	./internal/bff/authn:FuzzSessionCookie \
	./internal/restclient:FuzzUpstreamAnswers

## fuzz: run each fuzz target briefly (FUZZTIME each) beyond its seed corpus
fuzz:
	@for t in $(FUZZ_TARGETS); do \
	  pkg=$${t%%:*}; name=$${t##*:}; \
	  if [ -d "$$pkg" ]; then \
	    echo "fuzz $$name ($$pkg, $(FUZZTIME))"; \
	    $(GO) test -run '^$$' -fuzz "^$$name\$$" -fuzztime $(FUZZTIME) "$$pkg" || exit 1; \
	  fi; \
	done

## test: every check and test, every benchmark once, then a short fuzzing run
test: check
	$(GO) test $(TEST_FLAGS) ./...
	$(MAKE) --no-print-directory bench-smoke
	$(MAKE) --no-print-directory fuzz

## bench-smoke: run every benchmark once, so that none can break unnoticed
bench-smoke:
	$(GO) test -run '^$$' -bench . -benchtime 1x ./...

## bench-go: the Go micro-benchmarks behind the figures of docs/benchmarks.md (a few minutes)
bench-go:
	$(GO) test -run '^$$' -bench . -benchmem -benchtime 3s -count 2 ./bff-web/app/ ./bff-mobile/app/ ./internal/bff/guard/ ./internal/telemetry/ ./internal/bff/observe/

## bench: both BFFs under load over HTTP, as processes (vegeta, 1/8/32 workers, service latency 0 and 2ms,
## under 5 minutes); writes docs/bench/results.md, results.json, throughput.svg and p99.svg;
## LOADBENCH_BASELINE=<a previous results.json> adds a before → after table
bench:
	LOADBENCH_OUT=$(CURDIR)/docs/bench LOADBENCH_BASELINE=$(if $(LOADBENCH_BASELINE),$(abspath $(LOADBENCH_BASELINE))) $(GO) test -count=1 -run '^TestLoadBench$$' -timeout 15m -v ./internal/e2e/loadbench/

## bench-compare: issue 13's target operations (web Dashboard and AdminOverview, mobile Home) at 32 workers,
## the tree at BEFORE (a git revision, default the one before the issue) and this one taking turns,
## BENCH_ROUNDS rounds (3, about 10 minutes); writes docs/bench/compare.md and compare.json (medians);
## BENCH_SERVICES=after runs both BFFs over this tree's services (the BFFs alone)
BEFORE ?= 6b400d9
BENCH_ROUNDS ?= 3
BENCH_SERVICES ?=
bench-compare:
	@set -e; dir=$$(mktemp -d); trap 'git worktree remove --force '"$$dir"' >/dev/null 2>&1 || true; rm -rf '"$$dir" EXIT; \
	git worktree add --detach "$$dir" $(BEFORE) >/dev/null; \
	LOADBENCH_OUT=$(CURDIR)/docs/bench LOADBENCH_COMPARE="$$dir" LOADBENCH_COMPARE_NAME=$(BEFORE) LOADBENCH_ROUNDS=$(BENCH_ROUNDS) LOADBENCH_SERVICES=$(BENCH_SERVICES) $(GO) test -count=1 -run '^TestLoadBenchCompare$$' -timeout 30m -v ./internal/e2e/loadbench/

## soak: both BFFs under mixed load for SOAK_DURATION (10m) with faults switched on and off;
## samples RSS, goroutines, open fds and latency every second; writes docs/soak/soak.svg and soak.md
SOAK_DURATION ?= 10m
soak:
	SOAK_DURATION=$(SOAK_DURATION) SOAK_OUT=$(CURDIR)/docs/soak $(GO) test -count=1 -run '^TestSoak$$' -timeout 60m -v ./internal/e2e/soak/

## bench-telemetry: the cost of metrics and tracing on both BFFs, the modes taking turns (about 8 minutes)
bench-telemetry:
	internal/tools/bench-telemetry.sh 10

clean:
	rm -rf $(BIN)
