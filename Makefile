# uss: every target explains itself in `make help`.
SHELL := /bin/bash
.DEFAULT_GOAL := help

BIN          := bin/uss-server
DEV_KEY_FILE := .uss-dev-key
GO_TEST_FLAGS ?= -race -count=1 -timeout 30m

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

.PHONY: test
test: ## vet and run every test against a real PostgreSQL (the API suites once more through PgBouncer), the SDK integrations' too, Go and Node (see README: Tests)
	go vet ./...
	@# Each test binary appends how many API exchanges it held to api/openapi.yaml; the sum is printed.
	@# The API suites then run once more with every query through a PgBouncer in transaction mode
	@# (docs/operations.md).
	@tally=$$(mktemp); status=0; \
	USS_OPENAPI_TALLY=$$tally go test $(GO_TEST_FLAGS) ./... || status=$$?; \
	if [ $$status -eq 0 ]; then \
		echo "== the API suites once more, every query through a PgBouncer in transaction mode"; \
		USS_TEST_PGBOUNCER=1 go test $(GO_TEST_FLAGS) ./internal/http/ || status=$$?; \
	fi; \
	if [ $$status -eq 0 ]; then \
		(cd integrations && go vet ./... && USS_OPENAPI_TALLY=$$tally go test $(GO_TEST_FLAGS) ./...) || status=$$?; \
	fi; \
	if [ $$status -eq 0 ]; then \
		(cd integrations/node && npm ci --no-audit --no-fund && npm test) || status=$$?; \
	fi; \
	awk '{ n += $$1 } END { printf "openapi: %d request/response exchanges of the API tests validated against api/openapi.yaml\n", n }' $$tally; \
	rm -f $$tally; \
	if docker info >/dev/null 2>&1; then docker compose config --quiet || status=$$?; \
	else echo "no Docker engine: docker-compose.yml checked as YAML by the Go tests only"; fi; \
	exit $$status

.PHONY: fmt
fmt: ## format the code
	gofmt -w $$(git ls-files '*.go')

.PHONY: bench
bench: build ## load benchmark against pgbench on the local PostgreSQL, SPEC 6 (see README: Benchmarks)
	go build -o bin/uss-bench ./cmd/uss-bench
	bin/uss-bench -server $(BIN)

.PHONY: attack
attack: build ## the attacks uss must survive, on a private PostgreSQL it creates (about 3 minutes; see docs/operations.md)
	go build -o bin/uss-attack ./cmd/uss-attack
	bin/uss-attack -server $(BIN) $(ATTACK_FLAGS)
