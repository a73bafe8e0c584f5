# uss: every target explains itself in `make help`.
SHELL := /bin/bash
.DEFAULT_GOAL := help

BIN          := bin/uss-server
DEV_KEY_FILE := .uss-dev-key
GO_TEST_FLAGS ?= -race -count=1 -timeout 30m
MAKE_START   := $(shell date +%s)

# make test leaves out, with -short, the tests that load data at production scale (the report
# over a million assignments); USS_TEST_FULL=1 runs everything, as .ci/run does.
ifeq ($(USS_TEST_FULL),)
TEST_MODE := -short
endif

# The linter is pinned and built into bin/ on first use (the name carries the version, so a
# new pin builds anew); it caches its results in ~/.cache/golangci-lint.
GOLANGCI_LINT_VERSION := v2.15.0
GOLANGCI_LINT         := bin/golangci-lint-$(GOLANGCI_LINT_VERSION)

.PHONY: help
help: ## list the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  %-8s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

.PHONY: build
build: ## build bin/uss-server
	go build -o $(BIN) ./cmd/uss-server

.PHONY: run
run: build ## serve on 127.0.0.1:8080 against the local PostgreSQL (creates the database; prints a development API key)
	@$(BIN) migrate up >/dev/null
	@if ! [ -s $(DEV_KEY_FILE) ] || ! $(BIN) apikey check "$$(cat $(DEV_KEY_FILE))" >/dev/null 2>&1; then \
		$(BIN) apikey create --account dev | tail -n 1 > $(DEV_KEY_FILE); \
	fi
	@echo "Development API key (account \"dev\", kept in $(DEV_KEY_FILE)):"
	@echo "  $$(cat $(DEV_KEY_FILE))"
	exec $(BIN) serve

.PHONY: lint
lint: $(GOLANGCI_LINT) ## lint both Go modules (.golangci.yml) and check that go mod tidy would change nothing
	go mod tidy -diff
	cd integrations && go mod tidy -diff
	$(GOLANGCI_LINT) run ./...
	@# integrations/ has no SQL, so the SQLSTATE rule (gocritic's ruleguard) has nothing to check
	@# there, and ruleguard could not load its rules file outside the module that requires its DSL.
	cd integrations && ../$(GOLANGCI_LINT) run --config ../.golangci.yml --disable gocritic ./...

$(GOLANGCI_LINT):
	GOBIN=$(CURDIR)/bin go install github.com/golangci/golangci-lint/v2/cmd/golangci-lint@$(GOLANGCI_LINT_VERSION)
	mv bin/golangci-lint $@

.PHONY: test
test: lint ## lint, then run every test against a real PostgreSQL (the API suites once more through PgBouncer), the SDK integrations' too, Go and Node (docs/testing.md)
	go vet ./...
	@# Each test binary appends how many API exchanges it held to api/openapi.yaml; the sum is printed.
	@# The API suites then run once more with every query through a PgBouncer in transaction mode
	@# (docs/operations.md).
	@tally=$$(mktemp); status=0; \
	USS_OPENAPI_TALLY=$$tally go test $(GO_TEST_FLAGS) $(TEST_MODE) ./... || status=$$?; \
	if [ $$status -eq 0 ]; then \
		echo "== the API suites once more, every query through a PgBouncer in transaction mode"; \
		USS_TEST_PGBOUNCER=1 go test $(GO_TEST_FLAGS) $(TEST_MODE) ./internal/http/ || status=$$?; \
	fi; \
	if [ $$status -eq 0 ]; then \
		(cd integrations && go vet ./... && USS_OPENAPI_TALLY=$$tally go test $(GO_TEST_FLAGS) $(TEST_MODE) ./...) || status=$$?; \
	fi; \
	if [ $$status -eq 0 ]; then \
		(cd integrations/node && npm ci --no-audit --no-fund && npm test) || status=$$?; \
	fi; \
	awk '{ n += $$1 } END { printf "openapi: %d request/response exchanges of the API tests validated against api/openapi.yaml\n", n }' $$tally; \
	rm -f $$tally; \
	if docker info >/dev/null 2>&1; then docker compose config --quiet || status=$$?; \
	else echo "no Docker engine: docker-compose.yml checked as YAML by the Go tests only"; fi; \
	if [ -n "$(TEST_MODE)" ]; then echo "short mode: the production-scale tests were left out (USS_TEST_FULL=1 make test runs them)"; fi; \
	echo "make test took $$(( $$(date +%s) - $(MAKE_START) ))s"; \
	exit $$status

.PHONY: fmt
fmt: ## format the code
	gofmt -w $$(git ls-files '*.go')

.PHONY: bench
bench: build ## load benchmark against pgbench on the local PostgreSQL (docs/benchmarks.md)
	go build -o bin/uss-bench ./cmd/uss-bench
	bin/uss-bench -server $(BIN)

.PHONY: attack
attack: build ## the attacks uss must survive, on a private PostgreSQL it creates (about 3 minutes; see docs/operations.md)
	go build -o bin/uss-attack ./cmd/uss-attack
	bin/uss-attack -server $(BIN) $(ATTACK_FLAGS)
