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
TFLINT_VERSION   := v0.61.0
# The only version of the AWS ruleset the module proxy serves (it lists none).
TFLINT_AWS_VERSION := v0.36.0
GOLANGCI         := $(TOOLS)/golangci-lint-$(GOLANGCI_VERSION)
RIE              := $(TOOLS)/aws-lambda-rie
TFLINT           := $(TOOLS)/tflint-$(TFLINT_VERSION)
TFLINT_PLUGINS   := $(TOOLS)/tflint-plugins-$(TFLINT_AWS_VERSION)
TFLINT_AWS       := $(TFLINT_PLUGINS)/tflint-ruleset-aws

# The tests record every AWS call the functions and hubctl make (build tag
# iamrecord, internal/iamrecord); infra/iamcheck holds the recording to the
# committed action sets in terraform/iam that the IAM policies come from.
IAM_RECORD  := $(BUILD)/iam-record
IAM_SETS    := terraform/iam

# The local AWS servers (fauxqs, local-aws-sqs, DynamoDB Local) wrapped
# around a command: started on free loopback ports, stopped by PID after.
LOCALAWS    := $(BUILD)/tools/localaws
WITH_AWS    := $(LOCALAWS) exec --
FUZZTIME    ?= 30s

.PHONY: help
help: ## list the targets
	@grep -hE '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-14s %s\n", $$1, $$2}'

$(RIE):
	@mkdir -p $(TOOLS)
	GOBIN=$(TOOLS) $(GO) install github.com/aws/aws-lambda-runtime-interface-emulator/cmd/aws-lambda-rie@$(RIE_VERSION)

$(TFLINT):
	@mkdir -p $(TOOLS)
	GOBIN=$(TOOLS) $(GO) install github.com/terraform-linters/tflint@$(TFLINT_VERSION)
	mv $(TOOLS)/tflint $(TFLINT)

# Built in a module of its own: `go install pkg@version` asks the proxy for
# the module's version list, which it refuses for this module. Slow once
# (about 4 minutes on 2 cores), then cached in .tools.
$(TFLINT_AWS):
	@mkdir -p $(TFLINT_PLUGINS) $(TOOLS)/src/tflint-ruleset-aws
	cd $(TOOLS)/src/tflint-ruleset-aws && rm -f go.mod go.sum && $(GO) mod init tflint-ruleset-aws-build >/dev/null 2>&1 && \
		$(GO) get github.com/terraform-linters/tflint-ruleset-aws@$(TFLINT_AWS_VERSION) && \
		$(GO) build -o $(TFLINT_AWS) github.com/terraform-linters/tflint-ruleset-aws

$(GOLANGCI):
	@mkdir -p $(TOOLS)
	GOBIN=$(TOOLS) $(GO) install github.com/golangci/golangci-lint/v2/cmd/golangci-lint@$(GOLANGCI_VERSION)
	mv $(TOOLS)/golangci-lint $(GOLANGCI)

.PHONY: $(LOCALAWS)
$(LOCALAWS):
	@mkdir -p $(dir $@)
	$(GO) build -o $@ ./infra/localaws

.PHONY: tools
tools: $(RIE) $(LOCALAWS) ## install the pinned test tools into .tools/bin (and tmux from Debian when missing)
	$(LOCALAWS) install
	@# The live view's test drives `hubctl status --watch` in tmux.
	@command -v tmux >/dev/null || { echo "installing tmux from Debian (the live view's test needs it)"; \
		{ [ "$$(id -u)" = 0 ] && apt-get update -qq && apt-get install -y -qq --no-install-recommends tmux; } || \
		{ echo "tmux is missing and could not be installed: apt-get install tmux (as root), then make test again" >&2; exit 1; }; }

.PHONY: build
build: ## build each function's bootstrap (linux/$(LAMBDA_ARCH), provided.al2023) and zip under build/
	@for f in $(FUNCTIONS); do \
		mkdir -p $(BUILD)/$$f; \
		CGO_ENABLED=0 GOOS=linux GOARCH=$(LAMBDA_ARCH) $(GO) build -tags lambda.norpc -trimpath -ldflags='-s -w' -o $(BUILD)/$$f/bootstrap ./functions/$$f; \
		rm -f $(BUILD)/$$f.zip; (cd $(BUILD)/$$f && zip -q -X $(BUILD)/$$f.zip bootstrap); \
		echo "build/$$f.zip: $$(du -h $(BUILD)/$$f/bootstrap | cut -f1) bootstrap"; \
	done

.PHONY: hubctl
hubctl: ## build the operator CLI into build/hubctl
	@mkdir -p $(BUILD)
	$(GO) build -o $(BUILD)/hubctl ./cmd/hubctl

.PHONY: run
run: hubctl $(LOCALAWS) ## the whole pipeline locally: local SQS + DynamoDB, then hubctl dev (Ctrl-C stops all)
	$(LOCALAWS) install
	$(WITH_AWS) $(BUILD)/hubctl dev $(RUN_ARGS)

.PHONY: test
test: tools ## run every test against local servers it starts and stops; fails if any test skipped
	HUB_REQUIRE_INTEGRATION=1 HUB_RIE=$(RIE) $(WITH_AWS) $(MAKE) --no-print-directory test-inside

# Runs with the local servers' endpoints in the environment.
.PHONY: test-inside
test-inside:
	rm -rf $(IAM_RECORD) && mkdir -p $(IAM_RECORD)
	GOFLAGS="$${GOFLAGS:-} -tags=iamrecord" HUB_IAM_RECORD_DIR=$(IAM_RECORD) TEST_LOG=$(BUILD)/test.log infra/scripts/gotest.sh
	$(GO) run ./infra/iamcheck check -records $(IAM_RECORD) -sets $(IAM_SETS)
	$(MAKE) --no-print-directory test-terraform
	@echo "go: $$(cat $(BUILD)/test.log.summary)"

# terraform/test.sh exits 3 when it could not run everything (no terraform,
# no provider mirror, no local servers): that fails `make test` unless
# ALLOW_NO_TERRAFORM=1 says the user knowingly runs without it.
.PHONY: test-terraform
test-terraform: ## Terraform fmt, offline init, validate, mocked tests, and an apply of queue+storage to the local servers
	@rc=0; bash terraform/test.sh || rc=$$?; \
	if [ $$rc -eq 3 ] && [ "$${ALLOW_NO_TERRAFORM:-}" = 1 ]; then echo "make: Terraform tests NOT run (ALLOW_NO_TERRAFORM=1)" >&2; exit 0; fi; \
	exit $$rc

.PHONY: scale-model
scale-model: ## the capacity model: scenarios as a table, with SVG charts in build/scale-model (docs/SCALE.md)
	@mkdir -p $(BUILD)/scale-model
	$(GO) run ./infra/scalemodel -out $(BUILD)/scale-model

.PHONY: iam-sets
iam-sets: ## rewrite terraform/iam/*.json from the last make test's recording (after a deliberate change of AWS calls)
	$(GO) run ./infra/iamcheck write -records $(IAM_RECORD) -sets $(IAM_SETS)

# `make test` replays every committed corpus (testdata/fuzz, the seeds in
# the Fuzz functions) through `go test`, which is deterministic; open-ended
# fuzzing finds new inputs at a pace that depends on the machine, so it is
# its own target. A failing target prints its output and the input it saved.
.PHONY: fuzz
fuzz: ## fuzz each target for FUZZTIME (default 30s; try FUZZTIME=5m); new crashers land in testdata/fuzz
	@set -e; \
	list=$$($(GO) test -list '^Fuzz' ./...); \
	pairs=$$(echo "$$list" | awk '/^Fuzz/ { t[n++] = $$1 } /^ok / { for (i = 0; i < n; i++) print $$2, t[i]; n = 0 }'); \
	if [ -z "$$pairs" ]; then echo "make fuzz: go test -list found no Fuzz targets" >&2; exit 1; fi; \
	echo "$$pairs" | while read -r pkg target; do \
		echo "fuzz $$target in $$pkg for $(FUZZTIME)"; \
		dir=$$($(GO) list -f '{{.Dir}}' $$pkg); \
		out=$$($(GO) test -run '^$$' -fuzz "^$$target\$$" -fuzztime $(FUZZTIME) $$pkg 2>&1) || { \
			echo "$$out" | tail -40; \
			echo "fuzz $$target failed; the failing input is saved under $$dir/testdata/fuzz/$$target:"; \
			git status --short --untracked-files=all -- $$dir/testdata/fuzz; exit 1; }; \
	done

.PHONY: bench
bench: tools ## P1-P5 against local servers (infra/bench; BENCH_ARGS=-quick for a short run), then the hot-path Go benchmarks
	@mkdir -p $(BUILD)
	HUB_RIE=$(RIE) $(WITH_AWS) $(GO) run ./infra/bench -out $(BUILD)/bench.md $(BENCH_ARGS)
	$(GO) test -run '^$$' -bench . -benchmem ./internal/...

.PHONY: soak
soak: tools ## the reliability suite's long forms and the 10,000-message DLQ (HUB_SOAK=1) against local servers
	HUB_SOAK=1 HUB_REQUIRE_INTEGRATION=1 $(WITH_AWS) $(GO) test -count=1 -v -timeout 30m ./internal/reliability/ ./internal/failedjobs/

.PHONY: lint
lint: $(GOLANGCI) $(TFLINT) $(TFLINT_AWS) ## gofmt, go vet, golangci-lint, terraform fmt and tflint with the AWS ruleset
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) vet -tags iamrecord ./internal/app/...
	$(GOLANGCI) run ./...
	@if command -v terraform >/dev/null; then TF_CLI_CONFIG_FILE=/dev/null terraform fmt -check -recursive terraform; else echo "terraform not found: terraform fmt skipped" >&2; exit 1; fi
	TFLINT_PLUGIN_DIR=$(TFLINT_PLUGINS) $(TFLINT) --config $(CURDIR)/.tflint.hcl --chdir terraform --recursive

LOCALSTACK_COMPOSE := infra/localstack/docker-compose.yml

.PHONY: localstack-up
localstack-up: ## start LocalStack 4.14.0 with Docker (LOCALSTACK_AUTH_TOKEN / LOCALSTACK_IMAGE for newer images)
	docker compose -f $(LOCALSTACK_COMPOSE) up -d
	@for i in $$(seq 60); do curl -fsS http://localhost:4566/_localstack/health >/dev/null 2>&1 && { echo "LocalStack ready on http://localhost:4566"; exit 0; }; sleep 2; done; echo "LocalStack did not become healthy in 120 s" >&2; exit 1

.PHONY: localstack-down
localstack-down: ## stop LocalStack
	docker compose -f $(LOCALSTACK_COMPOSE) down

.PHONY: deploy-local
deploy-local: build ## apply the whole Terraform root to LocalStack (workspace "localstack")
	@cfg=$$(bash terraform/test.sh --config-only | tail -n 1); \
	cd terraform && export TF_CLI_CONFIG_FILE="$$cfg" && \
	terraform init -input=false && \
	terraform workspace select -or-create localstack && \
	terraform apply -input=false -var-file=localstack.tfvars
	@echo "Point hubctl at it: export AWS_ENDPOINT_URL=http://localhost:4566; eval \"\$$(cd terraform && terraform output -raw hubctl_env)\""

.PHONY: clean
clean: ## remove build output
	rm -rf $(BUILD)
