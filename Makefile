# The whole setup on a fresh machine: `make run` and `make test`.
GO        ?= go
BIN       := bin
SERVICES  := user order product
TEST_FLAGS ?= -count=1 -timeout 8m

.PHONY: all build run test check fmt vet clean

all: build

## build: compile every binary into ./bin
build:
	@mkdir -p $(BIN)
	$(GO) build -o $(BIN)/user ./services/user
	$(GO) build -o $(BIN)/order ./services/order
	$(GO) build -o $(BIN)/product ./services/product
	$(GO) build -o $(BIN)/devstack ./internal/tools/devstack

## run: build and start the whole stack on its default ports (Ctrl-C stops it)
run: build
	@$(BIN)/devstack -bin $(BIN)

## check: formatting and vet
check: fmt vet

fmt:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet ./...

## test: every check and test
test: check
	$(GO) test $(TEST_FLAGS) ./...

clean:
	rm -rf $(BIN)
