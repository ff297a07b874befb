# Payments Hub. `make test` and `make run` are the two commands a newcomer
# needs; both install what they need (pinned) and start and stop their own
# local servers.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

GO          ?= go
TOOLS       := $(CURDIR)/.tools/bin
BUILD       := $(CURDIR)/build
FUNCTIONS   := $(patsubst functions/%/main.go,%,$(wildcard functions/*/main.go))
LAMBDA_ARCH ?= arm64

# Pinned tools, built from the Go module proxy.
GOLANGCI_VERSION := v2.15.0
RIE_VERSION      := v0.0.0-20261030222936-bef5c4ba774d
GOLANGCI         := $(TOOLS)/golangci-lint-$(GOLANGCI_VERSION)
RIE              := $(TOOLS)/aws-lambda-rie

# The local AWS servers (fauxqs, local-aws-sqs, DynamoDB Local) wrapped
# around a command: started on free loopback ports, stopped by PID after.
LOCALAWS    := $(BUILD)/tools/localaws
WITH_AWS    := $(LOCALAWS) exec --
FUZZTIME    ?= 5s

.PHONY: help
help: ## list the targets
	@grep -hE '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-14s %s\n", $$1, $$2}'

$(RIE):
	@mkdir -p $(TOOLS)
	GOBIN=$(TOOLS) $(GO) install github.com/aws/aws-lambda-runtime-interface-emulator/cmd/aws-lambda-rie@$(RIE_VERSION)

$(GOLANGCI):
	@mkdir -p $(TOOLS)
	GOBIN=$(TOOLS) $(GO) install github.com/golangci/golangci-lint/v2/cmd/golangci-lint@$(GOLANGCI_VERSION)
	mv $(TOOLS)/golangci-lint $(GOLANGCI)

.PHONY: $(LOCALAWS)
$(LOCALAWS):
	@mkdir -p $(dir $@)
	$(GO) build -o $@ ./infra/localaws

.PHONY: tools
tools: $(RIE) $(LOCALAWS) ## install the pinned test tools into .tools/bin
	$(LOCALAWS) install

.PHONY: build
build: ## build each function's bootstrap (linux/$(LAMBDA_ARCH), provided.al2023) and zip under build/
	@for f in $(FUNCTIONS); do \
		mkdir -p $(BUILD)/$$f; \
		CGO_ENABLED=0 GOOS=linux GOARCH=$(LAMBDA_ARCH) $(GO) build -tags lambda.norpc -trimpath -ldflags='-s -w' -o $(BUILD)/$$f/bootstrap ./functions/$$f; \
		rm -f $(BUILD)/$$f.zip; (cd $(BUILD)/$$f && zip -q -X $(BUILD)/$$f.zip bootstrap); \
		echo "build/$$f.zip: $$(du -h $(BUILD)/$$f/bootstrap | cut -f1) bootstrap"; \
	done

.PHONY: test
test: tools ## run every test against local servers it starts and stops; fails if any test skipped
	HUB_REQUIRE_INTEGRATION=1 HUB_RIE=$(RIE) $(WITH_AWS) $(MAKE) --no-print-directory test-inside

# Runs with the local servers' endpoints in the environment.
.PHONY: test-inside
test-inside:
	TEST_LOG=$(BUILD)/test.log infra/scripts/gotest.sh
	$(MAKE) --no-print-directory fuzz FUZZTIME=$(FUZZTIME)

.PHONY: fuzz
fuzz: ## run each fuzz target for FUZZTIME (default 5s; try FUZZTIME=2m)
	@for target in $$($(GO) test -list '^Fuzz' ./... | grep -E '^Fuzz'); do \
		pkg=$$(grep -rl "func $$target(" --include='*_test.go' internal functions | head -1 | xargs dirname); \
		echo "fuzz $$target in ./$$pkg for $(FUZZTIME)"; \
		$(GO) test -run '^$$' -fuzz "^$$target\$$" -fuzztime $(FUZZTIME) ./$$pkg >/dev/null || exit 1; \
	done

.PHONY: lint
lint: $(GOLANGCI) ## gofmt, go vet, golangci-lint and terraform fmt
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GOLANGCI) run ./...
	@if command -v terraform >/dev/null; then terraform fmt -check -recursive terraform; else echo "terraform not found: terraform fmt skipped" >&2; exit 1; fi

.PHONY: clean
clean: ## remove build output
	rm -rf $(BUILD)
