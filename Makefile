# The one entry point for building, checking and running the platform. `make test` is what
# CI runs (.ci/run); `make dev` starts everything locally.

MODULES  := pkg services/oauth-clients services/iam-subjects services/iam-policies services/consent tools tools/deploycheck
PACKAGES := $(addsuffix /...,$(addprefix ./,$(MODULES)))
# Directories with a go:generate line that runs oapi-codegen: each service's native API in
# services/<service>/api, each seed dialect it serves in services/<service>/api/<seed>/.
GENERATED_DIRS := pkg/apicommon pkg/events/schema $(wildcard services/*/api) $(wildcard services/*/api/*/)

GO ?= go
export GOFLAGS := -buildvcs=false

.PHONY: all generate check-generated lint lint-specs test test-go test-sdk test-faults sdk docs dev bench build

all: build

## generate: regenerate server code, models and clients from openapi/*.yaml
generate:
	@for d in $(GENERATED_DIRS); do (cd $$d && $(GO) generate .) || exit 1; done

## check-generated: fail when committed generated code differs from the specs
check-generated: generate
	@if ! git diff --quiet -- $(GENERATED_DIRS) || [ -n "$$(git ls-files --others --exclude-standard -- $(GENERATED_DIRS))" ]; then \
		echo "generated code is stale: run 'make generate' and commit the result"; \
		git --no-pager diff --stat -- $(GENERATED_DIRS); exit 1; fi
	@echo "generated code is current"

# The native specs, and the seed dialects' specs (openapi/dialects/<seed>-<service>.yaml).
SPECS := $(addprefix openapi/,oauth-clients.yaml iam-subjects.yaml iam-policies.yaml consent.yaml) $(wildcard openapi/dialects/*.yaml)

## lint-specs: the specs meet the ruleset in tools/js/redocly.yaml (operationIds,
## descriptions, examples for every body, error responses, security on every operation)
lint-specs:
	npm ci --prefix tools/js --no-audit --no-fund --loglevel=error
	REDOCLY_TELEMETRY=off tools/js/node_modules/.bin/redocly lint --format=stylish --config tools/js/redocly.yaml $(SPECS)

## lint: specs, gofmt, go vet, staticcheck (pinned in tools/go.mod; generated code is not
## linted), and repo-lint: no tracked binary or large file, dependencies point one way
lint: lint-specs
	@out=$$(gofmt -l pkg services tools | grep -v node_modules); if [ -n "$$out" ]; then echo "not gofmt-ed:"; echo "$$out"; exit 1; fi
	$(GO) vet $(PACKAGES)
	@# Findings are staticcheck's stdout; the go command's progress (go: downloading ...)
	@# goes to stderr and is shown, never counted. A failure with no findings is an error.
	@out=$$($(GO) tool staticcheck $(PACKAGES)); status=$$?; \
		findings=$$(printf '%s\n' "$$out" | grep -v '\.gen\.go:' | grep -v '^$$'); \
		if [ -n "$$findings" ]; then echo "$$findings"; exit 1; fi; \
		if [ $$status -ne 0 ] && [ -z "$$out" ]; then echo "staticcheck did not run (exit $$status)"; exit 1; fi; \
		echo "staticcheck: clean"
	$(GO) run ./tools/cmd/repo-lint $(PACKAGES)

## build: compile every service binary into bin/
build:
	@mkdir -p bin
	@for s in services/*/; do n=$$(basename $$s); $(GO) build -o bin/$$n ./$$s/cmd/$$n || exit 1; done

## test: everything CI checks: generated code and SDK current, lint, every Go test with
## the race detector, and the TypeScript SDK's tests against the real dev stack
test: check-generated lint test-go test-sdk

test-go:
	$(GO) test -race -count=1 -timeout 20m $(PACKAGES)

## test-faults: the fault suite (tools/cmd/iam-faults): each scenario runs the four services as
## separate processes on a private PostgreSQL and NATS, writes through the API, injects a fault
## (NATS outage, SIGKILL, database down or restored, stale events, a node of three lost) and
## fails if a 2xx write is lost or a view has not converged within 120 s. FAULTS_FLAGS, e.g.
## `-only 1 -writes 10000` or `-outage 30s`, is passed on.
test-faults:
	$(GO) run ./tools/cmd/iam-faults $(FAULTS_FLAGS)

SDK := tools/sdk-ts
JS := tools/js

## sdk: regenerate and build the TypeScript SDK (npm packages pinned by its lock file)
sdk:
	npm ci --prefix $(SDK) --no-audit --no-fund --loglevel=error
	REDOCLY_TELEMETRY=off npm run --prefix $(SDK) --silent generate
	npm run --prefix $(SDK) --silent build

## test-sdk: the SDK must be current with the specs, and its tests pass against the dev stack
test-sdk: sdk
	@if ! git diff --quiet -- $(SDK)/src/generated || [ -n "$$(git ls-files --others --exclude-standard -- $(SDK)/src/generated)" ]; then \
		echo "the TypeScript SDK is stale: run 'make sdk' and commit the result"; exit 1; fi
	npm test --prefix $(SDK) --silent

## docs: one static HTML API reference per service in bin/docs/
docs:
	npm ci --prefix $(JS) --no-audit --no-fund --loglevel=error
	@mkdir -p bin/docs
	@for s in oauth-clients iam-subjects iam-policies consent; do \
		REDOCLY_TELEMETRY=off $(JS)/node_modules/.bin/redocly build-docs openapi/$$s.yaml -o bin/docs/$$s.html || exit 1; done

## dev: run the whole platform locally (embedded NATS, private PostgreSQL, gateway on :8080)
dev:
	$(GO) run ./tools/cmd/iam-dev

## bench: measure token issuance and event propagation (figures go into the README)
bench:
	$(GO) run ./tools/cmd/iam-bench
