#!/usr/bin/env bash
# Terraform checks of the Payments Hub infrastructure. Run from anywhere:
#
#   bash terraform/test.sh
#   bash terraform/test.sh --config-only   # write the offline CLI config, print its path, stop
#
# 1. terraform fmt -check -recursive
# 2. terraform init -backend=false (offline, through the local provider mirror)
# 3. terraform validate (root)
# 4. terraform test (root; tests/*.tftest.hcl with a mocked AWS provider: no AWS, no network)
# 5. apply of ONLY the queue and storage modules (tests/local/) against local servers named by
#    AWS_ENDPOINT_URL_SQS and AWS_ENDPOINT_URL_DYNAMODB (fauxqs, DynamoDB Local), then a plan
#    that must say "No changes", then destroy. State lives in a temporary folder.
#
# Exit codes:
#   0  everything ran and passed
#   1  a check failed
#   3  NOT everything ran: terraform or the provider mirror is missing (nothing ran), or the
#      local servers were not given (steps 1-4 ran and passed, step 5 was skipped). Callers
#      must treat 3 as a failure unless the user explicitly opted out.
#
# Environment:
#   TF_PROVIDER_MIRROR           folder holding registry.terraform.io/hashicorp/aws/... (else searched)
#   AWS_ENDPOINT_URL_SQS         e.g. http://127.0.0.1:9324   (step 5)
#   AWS_ENDPOINT_URL_DYNAMODB    e.g. http://127.0.0.1:8000   (step 5)
#   TF_LOCAL_APPLY_TIMEOUT       seconds allowed to each terraform command of step 5 (default 300)

set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here"

started=$SECONDS
passed=0
skipped=0

banner() { # banner TITLE LINE...
  {
    echo
    echo "################################################################################"
    echo "##"
    echo "##  $1"
    shift
    for line in "$@"; do echo "##  $line"; done
    echo "##"
    echo "################################################################################"
    echo
  } >&2
}

not_run() {
  banner "TERRAFORM TESTS NOT RUN: $1" "${@:2}" \
    "Nothing was checked. This is NOT a pass (exit code 3)."
  exit 3
}

step() { # step NAME: prints a header and remembers when the step started
  step_name="$1"
  step_started=$SECONDS
  echo "==> $step_name"
}

step_ok() {
  passed=$((passed + 1))
  echo "    ok: $step_name ($((SECONDS - step_started)) s)"
}

# ---------------------------------------------------------------------------------------------
# Tools
# ---------------------------------------------------------------------------------------------

if ! command -v terraform >/dev/null 2>&1; then
  not_run "terraform is not on PATH" \
    "Install Terraform >= 1.9 (1.11.4 is what the project uses)."
fi

case "$(uname -m)" in
  x86_64 | amd64) arch=amd64 ;;
  aarch64 | arm64) arch=arm64 ;;
  *) arch="$(uname -m)" ;;
esac
os="$(uname -s | tr '[:upper:]' '[:lower:]')"

mkdir -p .tfcli

# A mirror is a folder M with M/registry.terraform.io/hashicorp/aws/5.x.y/<os>_<arch>/terraform-provider-aws_v5.x.y_x5.
mirror_ok() {
  [ -n "$1" ] && compgen -G "$1/registry.terraform.io/hashicorp/aws/5.*/${os}_${arch}/terraform-provider-aws_v5.*" >/dev/null
}

find_mirror() {
  local candidate bin
  for candidate in "${TF_PROVIDER_MIRROR:-}" "$(cat .tfcli/mirror 2>/dev/null || true)" \
    /opt/tf-plugins "$HOME/.terraform.d/plugins" "$HOME/.local/share/terraform/plugins" \
    /usr/local/share/terraform/plugins /usr/share/terraform/plugins; do
    if mirror_ok "$candidate"; then
      echo "$candidate"
      return 0
    fi
  done
  # Slow path: search the machine, leaving out Go's module cache, .terraform folders
  # (copies, not mirrors) and other big trees.
  bin="$(find / \( -path /proc -o -path /sys -o -path /dev -o -path '*/pkg/mod' -o -path '*/.terraform' \
    -o -path '*/node_modules' -o -path '*/.git' \) -prune -o -type f -name 'terraform-provider-aws_v5.*' \
    -path "*/registry.terraform.io/hashicorp/aws/5.*/${os}_${arch}/*" -print 2>/dev/null | head -n 1 || true)"
  if [ -n "$bin" ]; then
    echo "${bin%%/registry.terraform.io/*}"
    return 0
  fi
  return 1
}

if ! mirror="$(find_mirror)"; then
  not_run "the AWS provider mirror cannot be found" \
    "Looked for <mirror>/registry.terraform.io/hashicorp/aws/5.*/${os}_${arch}/terraform-provider-aws_v5.*" \
    "in \$TF_PROVIDER_MIRROR, /opt/tf-plugins, ~/.terraform.d/plugins and the whole machine." \
    "The registry is unreachable here, so init cannot download the provider."
fi
echo "$mirror" >.tfcli/mirror

# Our own CLI config (the machine's TF_CLI_CONFIG_FILE may point at a missing file): install
# hashicorp/aws from the mirror only, and cache it so that each init only links it.
mkdir -p .tfcli/plugin-cache .tfcli/data
cat >.tfcli/terraformrc <<EOF
# Written by terraform/test.sh; git-ignored.
provider_installation {
  filesystem_mirror {
    path    = "$mirror"
    include = ["registry.terraform.io/hashicorp/*"]
  }
}
plugin_cache_dir = "$here/.tfcli/plugin-cache"
EOF
export TF_CLI_CONFIG_FILE="$here/.tfcli/terraformrc"
export TF_IN_AUTOMATION=1 TF_INPUT=0 CHECKPOINT_DISABLE=1
unset TF_WORKSPACE TF_CLI_ARGS TF_CLI_ARGS_init TF_CLI_ARGS_plan TF_CLI_ARGS_apply TF_CLI_ARGS_destroy TF_CLI_ARGS_test

# `make deploy-local` only needs the CLI config: print its path and stop.
if [ "${1:-}" = "--config-only" ]; then
  echo "$TF_CLI_CONFIG_FILE"
  exit 0
fi

echo "terraform: $(terraform version | head -n 1), provider mirror: $mirror"

# ---------------------------------------------------------------------------------------------
# 1-4: static checks and mocked tests of the root
# ---------------------------------------------------------------------------------------------

export TF_DATA_DIR="$here/.tfcli/data/root"

step "terraform fmt -check -recursive"
if ! terraform fmt -check -recursive -diff; then
  echo "FAIL: files above are not formatted; run: terraform -chdir=terraform fmt -recursive" >&2
  exit 1
fi
step_ok

step "terraform init -backend=false (root, offline)"
if ! out="$(terraform init -backend=false -input=false -no-color 2>&1)"; then
  echo "$out" >&2
  echo "FAIL: terraform init" >&2
  exit 1
fi
step_ok

step "terraform validate (root)"
terraform validate -no-color || { echo "FAIL: terraform validate" >&2; exit 1; }
step_ok

step "terraform test (root, mocked provider)"
terraform test -no-color || { echo "FAIL: terraform test" >&2; exit 1; }
step_ok

# ---------------------------------------------------------------------------------------------
# 5: apply the queue and storage modules against local SQS and DynamoDB servers
# ---------------------------------------------------------------------------------------------

local_skip_reason=""
if [ -z "${AWS_ENDPOINT_URL_SQS:-}" ] || [ -z "${AWS_ENDPOINT_URL_DYNAMODB:-}" ]; then
  local_skip_reason="AWS_ENDPOINT_URL_SQS and/or AWS_ENDPOINT_URL_DYNAMODB are not set (start fauxqs and DynamoDB Local and export them)"
fi

if [ -n "$local_skip_reason" ]; then
  skipped=$((skipped + 1))
  echo "SKIPPED local apply: $local_skip_reason" >&2
else
  step "local apply of modules/queue + modules/storage (SQS $AWS_ENDPOINT_URL_SQS, DynamoDB $AWS_ENDPOINT_URL_DYNAMODB)"
  tmp="$(mktemp -d "${TMPDIR:-/tmp}/payments-hub-tf.XXXXXX")"
  local_dir="$here/tests/local"
  lock_existed=0
  [ -e "$local_dir/.terraform.lock.hcl" ] && lock_existed=1
  limit="${TF_LOCAL_APPLY_TIMEOUT:-300}"
  prefix="tftest-$(date +%s)-$$"
  export TF_DATA_DIR="$tmp/data"
  vars=(-var "sqs_endpoint=$AWS_ENDPOINT_URL_SQS" -var "dynamodb_endpoint=$AWS_ENDPOINT_URL_DYNAMODB" -var "name_prefix=$prefix")
  tf() { timeout "$limit" terraform -chdir="$local_dir" "$@"; }

  # fauxqs keeps a cleared RedriveAllowPolicy/RedrivePolicy as an empty attribute instead of
  # removing it, and the provider then waits (for many minutes) for the attribute to vanish
  # when those two resources are destroyed. Deleting the queues removes them anyway, so they
  # are dropped from the state first.
  destroy_all() {
    local left
    left="$(tf state list 2>/dev/null || true)"
    [ -z "$left" ] && return 0
    for addr in module.queue.aws_sqs_queue_redrive_allow_policy.dlq module.queue.aws_sqs_queue_redrive_policy.main; do
      if grep -qxF "$addr" <<<"$left"; then
        tf state rm -no-color -backup="$tmp/state-rm.backup" "$addr" >/dev/null
      fi
    done
    tf destroy -auto-approve -input=false -refresh=false -no-color "${vars[@]}"
  }

  # Last resort after a failure: a terraform stopped in the middle of a create (timeout,
  # Ctrl-C) can leave a queue or table on the server that never reached the state. Delete
  # whatever carries this run's unique prefix, straight through the JSON APIs (the local
  # servers take any credentials).
  sweep_prefix() {
    command -v curl >/dev/null 2>&1 || return 0
    local auth="AWS4-HMAC-SHA256 Credential=test/20240101/us-east-1/%s/aws4_request, SignedHeaders=host, Signature=0"
    local url name
    for url in $(curl -sf -m 10 -X POST "$AWS_ENDPOINT_URL_SQS/" -H 'Content-Type: application/x-amz-json-1.0' \
      -H 'X-Amz-Target: AmazonSQS.ListQueues' -H "Authorization: $(printf "$auth" sqs)" \
      -d "{\"QueueNamePrefix\":\"$prefix-\"}" | grep -o '"http[^"]*"' | tr -d '"'); do
      echo "cleanup: deleting leftover queue $url" >&2
      curl -sf -m 10 -o /dev/null -X POST "$AWS_ENDPOINT_URL_SQS/" -H 'Content-Type: application/x-amz-json-1.0' \
        -H 'X-Amz-Target: AmazonSQS.DeleteQueue' -H "Authorization: $(printf "$auth" sqs)" \
        -d "{\"QueueUrl\":\"$url\"}" || true
    done
    for name in $(curl -sf -m 10 -X POST "$AWS_ENDPOINT_URL_DYNAMODB/" -H 'Content-Type: application/x-amz-json-1.0' \
      -H 'X-Amz-Target: DynamoDB_20120810.ListTables' -H "Authorization: $(printf "$auth" dynamodb)" \
      -d '{}' | grep -o "\"$prefix-[^\"]*\"" | tr -d '"'); do
      echo "cleanup: deleting leftover table $name" >&2
      curl -sf -m 10 -o /dev/null -X POST "$AWS_ENDPOINT_URL_DYNAMODB/" -H 'Content-Type: application/x-amz-json-1.0' \
        -H 'X-Amz-Target: DynamoDB_20120810.DeleteTable' -H "Authorization: $(printf "$auth" dynamodb)" \
        -d "{\"TableName\":\"$name\"}" || true
    done
  }

  cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    set +e
    if [ -e "$tmp/terraform.tfstate" ] && [ -n "$(tf state list 2>/dev/null || true)" ]; then
      echo "cleanup: destroying what the local apply left (prefix $prefix)" >&2
      destroy_all >&2 || echo "cleanup: destroy FAILED" >&2
    fi
    if [ "$rc" -ne 0 ]; then
      sweep_prefix || echo "cleanup: queues/tables named $prefix-* may remain on the local servers" >&2
    fi
    [ "$lock_existed" = 1 ] || rm -f "$local_dir/.terraform.lock.hcl"
    rm -rf "$tmp"
    exit "$rc"
  }
  trap cleanup EXIT
  trap 'exit 130' INT TERM

  if ! out="$(tf init -input=false -no-color -backend-config="path=$tmp/terraform.tfstate" 2>&1)"; then
    echo "$out" >&2
    echo "FAIL: terraform init (tests/local)" >&2
    exit 1
  fi

  echo "    apply (name_prefix $prefix)"
  tf apply -auto-approve -input=false -no-color "${vars[@]}" >"$tmp/apply.log" 2>&1 || {
    cat "$tmp/apply.log" >&2
    echo "FAIL: terraform apply against the local servers" >&2
    exit 1
  }
  grep -E '^(module\..*: Creation complete|Apply complete)' "$tmp/apply.log" | sed 's/^/    /' || true

  echo "    plan -detailed-exitcode (must be: No changes)"
  set +e
  tf plan -detailed-exitcode -input=false -no-color "${vars[@]}" >"$tmp/plan.log" 2>&1
  plan_rc=$?
  set -e
  if [ "$plan_rc" -ne 0 ]; then
    cat "$tmp/plan.log" >&2
    if [ "$plan_rc" -eq 2 ]; then
      echo "FAIL: the second plan is not empty: the local servers do not keep what was applied (see the diff above)" >&2
    else
      echo "FAIL: terraform plan after apply (exit $plan_rc)" >&2
    fi
    exit 1
  fi
  grep -E '^No changes' "$tmp/plan.log" | sed 's/^/    /' || true

  echo "    destroy"
  destroy_all >"$tmp/destroy.log" 2>&1 || {
    cat "$tmp/destroy.log" >&2
    echo "FAIL: terraform destroy against the local servers" >&2
    exit 1
  }
  grep -E '^(Destroy complete)' "$tmp/destroy.log" | sed 's/^/    /' || true
  if [ -n "$(tf state list 2>/dev/null || true)" ]; then
    echo "FAIL: resources left in the state after destroy" >&2
    exit 1
  fi
  step_ok
fi

echo
echo "terraform: total $((SECONDS - started)) s"
if [ "$skipped" -gt 0 ]; then
  banner "SKIPPED local apply: $local_skip_reason" \
    "fmt, init, validate and the mocked terraform test passed; the apply against local" \
    "SQS/DynamoDB did NOT run. This is NOT a full pass (exit code 3)."
  echo "terraform: $passed passed, 0 failed, $skipped skipped"
  exit 3
fi
echo "terraform: $passed passed, 0 failed"
