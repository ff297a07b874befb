# Plan/apply-time checks of the whole stack with a mocked AWS provider: no AWS, no network.
# Runs use the default `apply` command: with a mock provider nothing is created, and the
# computed attributes (ARNs, URLs) get fake values so that policies and outputs are known.

mock_provider "aws" {
  mock_data "aws_region" {
    defaults = {
      name = "us-east-1"
    }
  }

  mock_data "aws_caller_identity" {
    defaults = {
      account_id = "123456789012"
    }
  }

  mock_data "aws_partition" {
    defaults = {
      partition  = "aws"
      dns_suffix = "amazonaws.com"
    }
  }

  mock_data "aws_kms_alias" {
    defaults = {
      target_key_arn = "arn:aws:kms:us-east-1:123456789012:key/11111111-2222-3333-4444-555555555555"
    }
  }

  mock_resource "aws_sqs_queue" {
    defaults = {
      arn = "arn:aws:sqs:us-east-1:123456789012:mock-queue"
      url = "https://sqs.us-east-1.amazonaws.com/123456789012/mock-queue"
    }
  }

  mock_resource "aws_dynamodb_table" {
    defaults = {
      arn = "arn:aws:dynamodb:us-east-1:123456789012:table/mock-table"
    }
  }

  mock_resource "aws_cloudwatch_log_group" {
    defaults = {
      arn = "arn:aws:logs:us-east-1:123456789012:log-group:mock"
    }
  }

  mock_resource "aws_lambda_function" {
    defaults = {
      arn        = "arn:aws:lambda:us-east-1:123456789012:function:mock"
      invoke_arn = "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/arn:aws:lambda:us-east-1:123456789012:function:mock/invocations"
    }
  }

  mock_resource "aws_apigatewayv2_api" {
    defaults = {
      api_endpoint  = "https://abc123.execute-api.us-east-1.amazonaws.com"
      execution_arn = "arn:aws:execute-api:us-east-1:123456789012:abc123"
    }
  }

  mock_resource "aws_iam_role" {
    defaults = {
      arn = "arn:aws:iam::123456789012:role/mock"
    }
  }

  mock_resource "aws_sns_topic" {
    defaults = {
      arn = "arn:aws:sns:us-east-1:123456789012:mock"
    }
  }
}

# Distinct ARNs for each queue, table, log group and role, so that a grant on the wrong one fails.
override_resource {
  target = module.queue.aws_sqs_queue.main
  values = {
    arn = "arn:aws:sqs:us-east-1:123456789012:payments-hub-events"
    url = "https://sqs.us-east-1.amazonaws.com/123456789012/payments-hub-events"
  }
}

override_resource {
  target = module.queue.aws_sqs_queue.dlq
  values = {
    arn = "arn:aws:sqs:us-east-1:123456789012:payments-hub-failed-jobs"
    url = "https://sqs.us-east-1.amazonaws.com/123456789012/payments-hub-failed-jobs"
  }
}

override_resource {
  target = module.storage.aws_dynamodb_table.events
  values = { arn = "arn:aws:dynamodb:us-east-1:123456789012:table/payments-hub-events" }
}

override_resource {
  target = module.storage.aws_dynamodb_table.transactions
  values = { arn = "arn:aws:dynamodb:us-east-1:123456789012:table/payments-hub-transactions" }
}

override_resource {
  target = module.ingest.aws_cloudwatch_log_group.this
  values = { arn = "arn:aws:logs:us-east-1:123456789012:log-group:/aws/lambda/payments-hub-ingest" }
}

override_resource {
  target = module.processor.aws_cloudwatch_log_group.this
  values = { arn = "arn:aws:logs:us-east-1:123456789012:log-group:/aws/lambda/payments-hub-processor" }
}

override_resource {
  target = module.redriver[0].aws_cloudwatch_log_group.this
  values = { arn = "arn:aws:logs:us-east-1:123456789012:log-group:/aws/lambda/payments-hub-redriver" }
}

# Distinct function ARNs too, so that the schedule must target the redriver and nothing else.
override_resource {
  target = module.ingest.aws_lambda_function.this
  values = { arn = "arn:aws:lambda:us-east-1:123456789012:function:payments-hub-ingest" }
}

override_resource {
  target = module.processor.aws_lambda_function.this
  values = { arn = "arn:aws:lambda:us-east-1:123456789012:function:payments-hub-processor" }
}

override_resource {
  target = module.redriver[0].aws_lambda_function.this
  values = { arn = "arn:aws:lambda:us-east-1:123456789012:function:payments-hub-redriver" }
}

override_resource {
  target = module.redriver[0].aws_iam_role.this
  values = { arn = "arn:aws:iam::123456789012:role/payments-hub-redriver-role" }
}

override_resource {
  target = aws_iam_role.redriver_schedule[0]
  values = { arn = "arn:aws:iam::123456789012:role/payments-hub-redriver-schedule-role" }
}

override_resource {
  target = module.ingest.aws_iam_role.this
  values = { arn = "arn:aws:iam::123456789012:role/payments-hub-ingest-role" }
}

override_resource {
  target = module.processor.aws_iam_role.this
  values = { arn = "arn:aws:iam::123456789012:role/payments-hub-processor-role" }
}

variables {
  ingest_zip_path    = "tests/fixtures/bootstrap.zip"
  processor_zip_path = "tests/fixtures/bootstrap.zip"
  redriver_zip_path  = "tests/fixtures/bootstrap.zip"
}

run "defaults" {
  # --- queue ---------------------------------------------------------------------------------
  assert {
    condition     = module.queue.settings.main.visibility_timeout_seconds == 60
    error_message = "The main queue's visibility timeout must be 60 s."
  }

  assert {
    condition     = module.queue.settings.main.redrive_policy.maxReceiveCount == 3
    error_message = "The redrive policy's maxReceiveCount must be 3."
  }

  assert {
    condition     = module.queue.settings.main.redrive_policy.deadLetterTargetArn == module.queue.dlq_arn
    error_message = "The redrive policy must target the DLQ."
  }

  assert {
    condition     = module.queue.settings.dlq.message_retention_seconds > module.queue.settings.main.message_retention_seconds
    error_message = "The DLQ's retention must be longer than the main queue's."
  }

  assert {
    condition     = module.queue.settings.dlq.message_retention_seconds == 1209600 && module.queue.settings.main.message_retention_seconds == 345600
    error_message = "Retention must be 4 days on the main queue and 14 days on the DLQ."
  }

  assert {
    condition     = module.queue.settings.main.sqs_managed_sse_enabled && module.queue.settings.dlq.sqs_managed_sse_enabled
    error_message = "Both queues must have SQS-managed SSE."
  }

  assert {
    # 262144: the most hashicorp/aws 5.x accepts (see modules/queue/variables.tf).
    condition     = module.queue.settings.main.max_message_size == 262144 && module.queue.settings.main.receive_wait_time_seconds == 20
    error_message = "The main queue must take 256 KiB messages (the 5.x provider's maximum) and long-poll 20 s."
  }

  assert {
    condition = (
      module.queue.settings.dlq.redrive_allow_policy.redrivePermission == "byQueue" &&
      module.queue.settings.dlq.redrive_allow_policy.sourceQueueArns == [module.queue.queue_arn]
    )
    error_message = "The DLQ must allow redrive byQueue from the main queue only."
  }

  # --- tables --------------------------------------------------------------------------------
  assert {
    condition     = alltrue([for t in values(module.storage.settings) : t.server_side_encryption])
    error_message = "Both tables must have server-side encryption enabled."
  }

  assert {
    condition     = alltrue([for t in values(module.storage.settings) : t.point_in_time_recovery])
    error_message = "Both tables must have point-in-time recovery enabled."
  }

  assert {
    condition     = alltrue([for t in values(module.storage.settings) : t.ttl_enabled && t.ttl_attribute == "expires_at"])
    error_message = "Both tables must have TTL enabled on expires_at."
  }

  assert {
    condition     = alltrue([for t in values(module.storage.settings) : t.billing_mode == "PAY_PER_REQUEST" && t.deletion_protection])
    error_message = "Both tables must be on demand with deletion protection by default."
  }

  assert {
    condition     = module.storage.settings.events.hash_key == "pk" && module.storage.settings.transactions.hash_key == "transaction_id"
    error_message = "Hash keys must be pk (events) and transaction_id (transactions)."
  }

  assert {
    condition     = output.events_table == "payments-hub-events" && output.transactions_table == "payments-hub-transactions"
    error_message = "Table names must be <prefix>-events and <prefix>-transactions."
  }

  # --- functions -----------------------------------------------------------------------------
  assert {
    condition = alltrue([for f in [module.ingest.settings, module.processor.settings] :
      f.runtime == "provided.al2023" && f.architectures == tolist(["arm64"]) && f.handler == "bootstrap" &&
    f.log_format == "JSON" && f.log_retention_days == 30])
    error_message = "Both functions must be provided.al2023/arm64/bootstrap with JSON logs kept 30 days."
  }

  assert {
    condition     = module.processor.settings.timeout == 30 && module.processor.settings.timeout <= module.queue.settings.main.visibility_timeout_seconds
    error_message = "The processor's timeout must be 30 s by default and never above the queue's visibility timeout."
  }

  assert {
    condition = module.processor.settings.environment == tomap({
      QUEUE_URL                     = module.queue.queue_url
      EVENTS_TABLE                  = "payments-hub-events"
      TRANSACTIONS_TABLE            = "payments-hub-transactions"
      BACKOFF_SECONDS               = "10,30,60"
      MAX_ATTEMPTS                  = "3"
      JOB_TIMEOUT_SECONDS           = "20"
      BATCH_CONCURRENCY             = "10"
      MONETBIL_API_URL              = "https://api.monetbil.com"
      MONETBIL_ALLOW_TESTMODE       = "false"
      STRIPE_MODE                   = "live"
      REQUIRE_EXPECTED_TRANSACTIONS = "false"
      LOG_LEVEL                     = "info"
    })
    error_message = "The processor's environment must be exactly what its configuration reads (no DLQ_URL), BATCH_CONCURRENCY = batch_size."
  }

  assert {
    condition = module.ingest.settings.environment == tomap({
      QUEUE_URL                     = module.queue.queue_url
      STRIPE_WEBHOOK_SECRET_PARAM   = "/payments-hub/stripe-webhook-secret"
      MONETBIL_SERVICE_SECRET_PARAM = "/payments-hub/monetbil-service-secret"
      LOG_LEVEL                     = "info"
      MAX_MESSAGE_BYTES             = "262144"
    })
    error_message = "Unexpected ingest environment (secrets are parameter names, never values)."
  }

  assert {
    condition = alltrue([for f in [module.ingest.settings, module.processor.settings] :
    f.system_log_level == "WARN" && f.application_log == "INFO" && f.log_group_class == "STANDARD"])
    error_message = "Both functions: platform records at WARN, their own lines at LOG_LEVEL, STANDARD log groups (EMF metrics need them)."
  }

  assert {
    condition     = module.processor.settings.reserved == 40 && module.ingest.settings.reserved == -1
    error_message = "The processor's reserved concurrency must default to maximum_concurrency (40); the ingest stays unreserved."
  }

  assert {
    condition     = module.storage.settings.transactions.indexes == { by_stripe_payment_intent = { hash_key = "stripe_payment_intent", projection_type = "KEYS_ONLY" } }
    error_message = "The transactions table must have the KEYS_ONLY index by_stripe_payment_intent on stripe_payment_intent."
  }

  # --- IAM -----------------------------------------------------------------------------------
  assert {
    condition = alltrue([
      for doc in [
        jsondecode(module.ingest.policy_json),
        jsondecode(module.processor.policy_json),
        jsondecode(module.ingest.assume_role_policy_json),
        jsondecode(module.processor.assume_role_policy_json),
        jsondecode(module.redriver[0].policy_json),
        jsondecode(module.redriver[0].assume_role_policy_json),
        jsondecode(aws_iam_role_policy.redriver_schedule[0].policy),
        jsondecode(aws_iam_role.redriver_schedule[0].assume_role_policy),
        jsondecode(output.application_policy_json),
      ] : alltrue([for st in doc.Statement : alltrue([for a in flatten([st.Action]) : !strcontains(a, "*") && !strcontains(a, "?")])])
    ])
    error_message = "No IAM statement may use a wildcard in an action."
  }

  assert {
    condition = alltrue([
      for doc in [jsondecode(module.ingest.policy_json), jsondecode(module.processor.policy_json)] :
      alltrue([for st in doc.Statement : !contains(keys(st), "NotAction")])
    ])
    error_message = "No IAM statement may use NotAction."
  }

  # Each role grants exactly its committed action set (iam/*.json, held by `make test` to what
  # the code calls), each action on the resource the set names: "action ARN" pairs compared.
  assert {
    condition = toset(flatten([for st in jsondecode(module.ingest.policy_json).Statement :
      [for a in flatten([st.Action]) : [for r in flatten([st.Resource]) : "${a} ${r}"]]])) == toset([
      for e in concat(jsondecode(file("iam/ingest.json")).recorded, jsondecode(file("iam/ingest.json")).handwritten) : "${e.action} ${ {
        "queue"                                       = "arn:aws:sqs:us-east-1:123456789012:payments-hub-events"
        "ssm-parameter:STRIPE_WEBHOOK_SECRET_PARAM"   = "arn:aws:ssm:us-east-1:123456789012:parameter/payments-hub/stripe-webhook-secret"
        "ssm-parameter:MONETBIL_SERVICE_SECRET_PARAM" = "arn:aws:ssm:us-east-1:123456789012:parameter/payments-hub/monetbil-service-secret"
        "ssm-kms-key"                                 = "arn:aws:kms:us-east-1:123456789012:key/11111111-2222-3333-4444-555555555555"
        "log-group"                                   = "arn:aws:logs:us-east-1:123456789012:log-group:/aws/lambda/payments-hub-ingest:*"
    }[e.resource]}"])
    error_message = "The ingest role must grant exactly terraform/iam/ingest.json, each action on its resource."
  }

  assert {
    condition = toset(flatten([for st in jsondecode(module.processor.policy_json).Statement :
      [for a in flatten([st.Action]) : [for r in flatten([st.Resource]) : "${a} ${r}"]]])) == toset([
      for e in concat(jsondecode(file("iam/processor.json")).recorded, jsondecode(file("iam/processor.json")).handwritten) : "${e.action} ${ {
        "queue"                                             = "arn:aws:sqs:us-east-1:123456789012:payments-hub-events"
        "dlq"                                               = "arn:aws:sqs:us-east-1:123456789012:payments-hub-failed-jobs"
        "events-table"                                      = "arn:aws:dynamodb:us-east-1:123456789012:table/payments-hub-events"
        "transactions-table"                                = "arn:aws:dynamodb:us-east-1:123456789012:table/payments-hub-transactions"
        "transactions-table/index/by_stripe_payment_intent" = "arn:aws:dynamodb:us-east-1:123456789012:table/payments-hub-transactions/index/by_stripe_payment_intent"
        "log-group"                                         = "arn:aws:logs:us-east-1:123456789012:log-group:/aws/lambda/payments-hub-processor:*"
    }[e.resource]}"])
    error_message = "The processor role must grant exactly terraform/iam/processor.json, each action on its resource."
  }

  assert {
    condition = toset(flatten([for st in jsondecode(output.operator_policy_json).Statement :
      [for a in flatten([st.Action]) : [for r in flatten([st.Resource]) : "${a} ${r}"]]])) == toset([
      for e in concat(jsondecode(file("iam/operator.json")).recorded, jsondecode(file("iam/operator.json")).handwritten) : "${e.action} ${ {
        "queue"              = "arn:aws:sqs:us-east-1:123456789012:payments-hub-events"
        "dlq"                = "arn:aws:sqs:us-east-1:123456789012:payments-hub-failed-jobs"
        "events-table"       = "arn:aws:dynamodb:us-east-1:123456789012:table/payments-hub-events"
        "transactions-table" = "arn:aws:dynamodb:us-east-1:123456789012:table/payments-hub-transactions"
        "*"                  = "*"
    }[e.resource]}"])
    error_message = "The operator policy must grant exactly terraform/iam/operator.json, each action on its resource."
  }

  assert {
    condition     = contains(flatten([for st in jsondecode(module.ingest.policy_json).Statement : st.Action]), "ssm:GetParameters") && !contains(flatten([for st in jsondecode(module.ingest.policy_json).Statement : st.Action]), "ssm:GetParameter")
    error_message = "internal/secrets calls GetParameters: IAM authorises it as ssm:GetParameters, not ssm:GetParameter."
  }

  assert {
    condition     = !contains(flatten([for st in jsondecode(module.processor.policy_json).Statement : st.Action]), "dynamodb:ConditionCheckItem")
    error_message = "Nothing calls ConditionCheckItem: the processor must not be granted it."
  }

  assert {
    condition     = length(aws_iam_policy.operator) == 0 && output.operator_policy_arn == null
    error_message = "No managed operator policy without create_operator_policy."
  }

  # --- queue policies ------------------------------------------------------------------------
  assert {
    condition = one([for st in jsondecode(aws_sqs_queue_policy.main.policy).Statement : st if st.Sid == "OnlyTheHubSends"]) == {
      Sid       = "OnlyTheHubSends"
      Effect    = "Deny"
      Principal = "*"
      Action    = "sqs:SendMessage"
      Resource  = "arn:aws:sqs:us-east-1:123456789012:payments-hub-events"
      Condition = {
        ArnNotEquals = { "aws:PrincipalArn" = ["arn:aws:iam::123456789012:role/payments-hub-ingest-role", "arn:aws:iam::123456789012:role/payments-hub-redriver-role"] }
        BoolIfExists = { "aws:PrincipalIsAWSService" = "false", "aws:ViaAWSService" = "false" }
      }
    }
    error_message = "The main queue must deny SendMessage to every principal but the ingest's and the redriver's roles (and leave AWS's own moves alone)."
  }

  assert {
    condition = alltrue([for p in [
      { doc = aws_sqs_queue_policy.main.policy, arn = "arn:aws:sqs:us-east-1:123456789012:payments-hub-events" },
      { doc = aws_sqs_queue_policy.dlq.policy, arn = "arn:aws:sqs:us-east-1:123456789012:payments-hub-failed-jobs" },
      ] : one([for st in jsondecode(p.doc).Statement : st if st.Sid == "DenyInsecureTransport"]) == {
      Sid       = "DenyInsecureTransport", Effect = "Deny", Principal = "*", Action = "sqs:*", Resource = p.arn
      Condition = { Bool = { "aws:SecureTransport" = "false" } }
    }])
    error_message = "Both queues must deny every request made without TLS."
  }

  assert {
    condition     = aws_sqs_queue_policy.main.queue_url == module.queue.queue_url && aws_sqs_queue_policy.dlq.queue_url == module.queue.dlq_url
    error_message = "Each queue policy must be on its own queue."
  }

  assert {
    condition = one([for st in jsondecode(module.ingest.policy_json).Statement : st if st.Sid == "SsmKmsKey"]) == {
      Sid       = "SsmKmsKey"
      Effect    = "Allow"
      Action    = ["kms:Decrypt"]
      Resource  = ["arn:aws:kms:us-east-1:123456789012:key/11111111-2222-3333-4444-555555555555"]
      Condition = { StringEquals = { "kms:ViaService" = ["ssm.us-east-1.amazonaws.com"] } }
    }
    error_message = "kms:Decrypt must be on the aws/ssm key, only via SSM in this region."
  }


  # --- event source mapping ------------------------------------------------------------------
  assert {
    condition     = aws_lambda_event_source_mapping.processor.function_response_types == toset(["ReportBatchItemFailures"])
    error_message = "The mapping must report batch item failures."
  }

  assert {
    condition     = aws_lambda_event_source_mapping.processor.scaling_config[0].maximum_concurrency == 40
    error_message = "The mapping's maximum_concurrency must default to 40."
  }

  assert {
    condition     = aws_lambda_event_source_mapping.processor.batch_size == 10 && aws_lambda_event_source_mapping.processor.maximum_batching_window_in_seconds == 10
    error_message = "The mapping must batch 10 records within 10 s."
  }

  # --- scale (issue 16: 500 webhooks/s sustained, bursts of 1,000/s) -------------------------
  assert {
    condition     = aws_apigatewayv2_stage.default[0].default_route_settings[0].throttling_rate_limit >= 1000 && aws_apigatewayv2_stage.default[0].default_route_settings[0].throttling_burst_limit >= 2 * aws_apigatewayv2_stage.default[0].default_route_settings[0].throttling_rate_limit
    error_message = "The stage must accept bursts of 1,000 webhooks/s for as long as they last (rate >= 1000) and spikes of twice that."
  }

  assert {
    condition     = output.capacity.processor_events_per_second >= 1.5 * output.capacity.api_rate_per_second
    error_message = "The processor must drain at least 1.5 x what the API accepts, at the time per batch assumed from P4."
  }

  assert {
    condition     = output.capacity.processor_reserved >= aws_lambda_event_source_mapping.processor.scaling_config[0].maximum_concurrency
    error_message = "Reserved concurrency below maximum_concurrency throttles, and a throttled receive spends an attempt."
  }

  assert {
    # 1,000 webhooks/s x at most 2 writes, + 1 index write per Stripe payment: under the 4,000
    # WRU/s a new on-demand table serves at once.
    condition     = output.capacity.api_rate_per_second * 3 <= 4000
    error_message = "The API's rate must stay within what a new on-demand table writes at once."
  }

  assert {
    condition     = module.processor.settings.timeout + aws_lambda_event_source_mapping.processor.maximum_batching_window_in_seconds <= module.queue.settings.main.visibility_timeout_seconds
    error_message = "Function timeout + batching window must stay within the visibility timeout."
  }

  assert {
    condition     = aws_lambda_event_source_mapping.processor.event_source_arn == module.queue.queue_arn
    error_message = "The mapping must read the main queue."
  }

  # --- API -----------------------------------------------------------------------------------
  assert {
    condition     = toset([for r in aws_apigatewayv2_route.webhooks : r.route_key]) == toset(["POST /webhooks/stripe", "POST /webhooks/monetbil"])
    error_message = "Both webhook routes must exist."
  }

  assert {
    condition     = aws_apigatewayv2_integration.ingest[0].payload_format_version == "2.0" && aws_apigatewayv2_integration.ingest[0].integration_type == "AWS_PROXY"
    error_message = "The integration must be AWS_PROXY with payload format 2.0."
  }

  assert {
    condition     = aws_apigatewayv2_stage.default[0].name == "$default" && aws_apigatewayv2_stage.default[0].auto_deploy
    error_message = "The API must have an auto-deployed $default stage."
  }

  assert {
    condition     = output.stripe_webhook_url == "https://abc123.execute-api.us-east-1.amazonaws.com/webhooks/stripe"
    error_message = "Unexpected stripe_webhook_url."
  }

  assert {
    condition     = output.monetbil_webhook_url == "https://abc123.execute-api.us-east-1.amazonaws.com/webhooks/monetbil"
    error_message = "Unexpected monetbil_webhook_url."
  }

  # --- monitoring ----------------------------------------------------------------------------
  assert {
    condition = toset(keys(aws_cloudwatch_metric_alarm.this)) == toset([
      "dlq-not-empty", "dlq-oldest-message-age", "queue-oldest-message-age", "processor-errors", "processor-throttles",
      "ingest-errors", "ingest-throttles", "api-5xx",
      "stripe-webhooks-rejected", "monetbil-webhooks-rejected",
      "stripe-events-mismatch", "monetbil-events-mismatch", "stripe-events-amount-mismatch", "monetbil-events-amount-mismatch",
      "redriver-errors", "redriver-not-running",
    ])
    error_message = "Unexpected set of alarms."
  }

  assert {
    condition = alltrue([for p in ["stripe", "monetbil"] : (
      aws_cloudwatch_metric_alarm.this["${p}-webhooks-rejected"].namespace == "PaymentsHub" &&
      aws_cloudwatch_metric_alarm.this["${p}-webhooks-rejected"].metric_name == "WebhooksRejected" &&
      aws_cloudwatch_metric_alarm.this["${p}-webhooks-rejected"].dimensions == tomap({ provider = p }) &&
      aws_cloudwatch_metric_alarm.this["${p}-webhooks-rejected"].period == 300 &&
      aws_cloudwatch_metric_alarm.this["${p}-webhooks-rejected"].threshold == 10 &&
      aws_cloudwatch_metric_alarm.this["${p}-webhooks-rejected"].statistic == "Sum"
    )])
    error_message = "Each provider's rejections must alarm above 10 in 5 minutes, on the EMF metric PaymentsHub/WebhooksRejected by provider."
  }

  assert {
    condition = alltrue(flatten([for p in ["stripe", "monetbil"] : [for m in ["EventsMismatch", "EventsAmountMismatch"] : (
      one([for a in values(aws_cloudwatch_metric_alarm.this) : a if a.metric_name == m && a.dimensions == tomap({ provider = p })]).threshold == 0 &&
      one([for a in values(aws_cloudwatch_metric_alarm.this) : a if a.metric_name == m && a.dimensions == tomap({ provider = p })]).comparison_operator == "GreaterThanThreshold" &&
      one([for a in values(aws_cloudwatch_metric_alarm.this) : a if a.metric_name == m && a.dimensions == tomap({ provider = p })]).namespace == "PaymentsHub"
    )]]))
    error_message = "Any mismatch or amount_mismatch of either provider must alarm."
  }

  assert {
    condition = (aws_cloudwatch_metric_alarm.this["dlq-oldest-message-age"].threshold == 950400 &&
      aws_cloudwatch_metric_alarm.this["dlq-oldest-message-age"].dimensions == tomap({ QueueName = module.queue.dlq_name }) &&
    aws_cloudwatch_metric_alarm.this["dlq-oldest-message-age"].threshold < module.queue.settings.dlq.message_retention_seconds)
    error_message = "The DLQ's oldest message must alarm (11 days) before its 14-day retention drops it."
  }

  assert {
    condition     = aws_cloudwatch_metric_alarm.this["queue-oldest-message-age"].threshold == 300
    error_message = "The oldest-message alarm must default to 300 s."
  }

  assert {
    condition     = length(aws_sns_topic_subscription.alarm_email) == 0
    error_message = "No e-mail subscription without alarm_email."
  }

  assert {
    condition = toset(flatten([for w in jsondecode(aws_cloudwatch_dashboard.hub.dashboard_body).widgets : [for m in w.properties.metrics : m[1] if m[0] == "PaymentsHub"]])) == toset([
      "WebhooksAccepted", "WebhooksRejected", "EventsProcessed", "EventsDuplicate", "EventsRetried", "EventsFailed",
      "EventsMismatch", "EventsAmountMismatch", "ReceiptToAppliedMs",
    ])
    error_message = "The dashboard must show every metric the hub emits."
  }

  assert {
    condition     = length(aws_cloudwatch_log_group.api_access) == 0 && length(aws_apigatewayv2_stage.default[0].access_log_settings) == 0 && length(aws_lambda_function_url.ingest) == 0
    error_message = "No access log and no function URL by default."
  }

  # --- automatic redrive (issue 15) ----------------------------------------------------------
  assert {
    condition = module.redriver[0].settings.environment == tomap({
      QUEUE_URL            = "https://sqs.us-east-1.amazonaws.com/123456789012/payments-hub-events"
      DLQ_URL              = "https://sqs.us-east-1.amazonaws.com/123456789012/payments-hub-failed-jobs"
      EVENTS_TABLE         = "payments-hub-events"
      TRANSACTIONS_TABLE   = "payments-hub-transactions"
      AUTO_REDRIVE_SECONDS = "300,1800,7200"
      MONETBIL_API_URL     = "https://api.monetbil.com"
      MAX_ATTEMPTS         = "3"
      LOG_LEVEL            = "info"
    })
    error_message = "The redriver's environment must be exactly what its configuration reads, AUTO_REDRIVE_SECONDS 300,1800,7200 by default."
  }

  assert {
    condition = (module.redriver[0].settings.reserved == 1 && module.redriver[0].settings.timeout == 45 &&
      module.redriver[0].settings.memory_size == 128 && module.redriver[0].settings.runtime == "provided.al2023" &&
    module.redriver[0].settings.architectures == tolist(["arm64"]) && module.redriver[0].settings.log_format == "JSON")
    error_message = "The redriver: one pass at a time (reserved 1), 45 s (three quarters of rate(1 minute)), 128 MB, provided.al2023/arm64, JSON logs."
  }

  assert {
    condition = (length(aws_scheduler_schedule.redriver) == 1 &&
      aws_scheduler_schedule.redriver[0].schedule_expression == "rate(1 minute)" &&
      aws_scheduler_schedule.redriver[0].state == "ENABLED" &&
    aws_scheduler_schedule.redriver[0].flexible_time_window[0].mode == "OFF")
    error_message = "The redriver's schedule must run every minute, on time (no flexible window)."
  }

  assert {
    condition = (aws_scheduler_schedule.redriver[0].target[0].arn == "arn:aws:lambda:us-east-1:123456789012:function:payments-hub-redriver" &&
    aws_scheduler_schedule.redriver[0].target[0].role_arn == "arn:aws:iam::123456789012:role/payments-hub-redriver-schedule-role")
    error_message = "The schedule must invoke the redriver, with its own role."
  }

  assert {
    condition = (aws_scheduler_schedule.redriver[0].target[0].retry_policy[0].maximum_retry_attempts == 0 &&
      aws_scheduler_schedule.redriver[0].target[0].retry_policy[0].maximum_event_age_in_seconds == 60 &&
      aws_lambda_function_event_invoke_config.redriver[0].function_name == module.redriver[0].function_name &&
      aws_lambda_function_event_invoke_config.redriver[0].maximum_retry_attempts == 0 &&
    aws_lambda_function_event_invoke_config.redriver[0].maximum_event_age_in_seconds == 60)
    error_message = "A failed or late tick is dropped, not retried: the next tick is the retry."
  }

  assert {
    condition = jsondecode(aws_iam_role_policy.redriver_schedule[0].policy).Statement == [{
      Sid      = "InvokeTheRedriver"
      Effect   = "Allow"
      Action   = ["lambda:InvokeFunction"]
      Resource = ["arn:aws:lambda:us-east-1:123456789012:function:payments-hub-redriver"]
    }] && aws_iam_role_policy.redriver_schedule[0].role == aws_iam_role.redriver_schedule[0].id
    error_message = "The schedule's role may only invoke the redriver."
  }

  assert {
    condition = jsondecode(aws_iam_role.redriver_schedule[0].assume_role_policy).Statement == [{
      Sid       = "SchedulerAssumeRole"
      Effect    = "Allow"
      Principal = { Service = "scheduler.amazonaws.com" }
      Action    = "sts:AssumeRole"
      Condition = { StringEquals = { "aws:SourceAccount" = "123456789012" } }
    }]
    error_message = "Only EventBridge Scheduler, for this account's schedules, may assume the schedule's role."
  }

  assert {
    condition = toset(flatten([for st in jsondecode(module.redriver[0].policy_json).Statement :
      [for a in flatten([st.Action]) : [for r in flatten([st.Resource]) : "${a} ${r}"]]])) == toset([
      for e in concat(jsondecode(file("iam/redriver.json")).recorded, jsondecode(file("iam/redriver.json")).handwritten) : "${e.action} ${ {
        "queue"        = "arn:aws:sqs:us-east-1:123456789012:payments-hub-events"
        "dlq"          = "arn:aws:sqs:us-east-1:123456789012:payments-hub-failed-jobs"
        "events-table" = "arn:aws:dynamodb:us-east-1:123456789012:table/payments-hub-events"
        "log-group"    = "arn:aws:logs:us-east-1:123456789012:log-group:/aws/lambda/payments-hub-redriver:*"
    }[e.resource]}"])
    error_message = "The redriver role must grant exactly terraform/iam/redriver.json, each action on its resource."
  }

  assert {
    # Least privilege, whatever the set says: the transactions table and purging are not the redriver's.
    condition = alltrue([for st in jsondecode(module.redriver[0].policy_json).Statement :
    !contains(flatten([st.Resource]), "arn:aws:dynamodb:us-east-1:123456789012:table/payments-hub-transactions") && !contains(flatten([st.Action]), "sqs:PurgeQueue")])
    error_message = "The redriver must have no grant on the transactions table and may not purge."
  }

  assert {
    condition = (aws_cloudwatch_metric_alarm.this["redriver-errors"].dimensions == tomap({ FunctionName = "payments-hub-redriver" }) &&
      aws_cloudwatch_metric_alarm.this["redriver-errors"].metric_name == "Errors" &&
      aws_cloudwatch_metric_alarm.this["redriver-errors"].threshold == 0 &&
    aws_cloudwatch_metric_alarm.this["redriver-errors"].comparison_operator == "GreaterThanThreshold")
    error_message = "Any redriver error must alarm."
  }

  assert {
    condition = (aws_cloudwatch_metric_alarm.this["redriver-not-running"].dimensions == tomap({ FunctionName = "payments-hub-redriver" }) &&
      aws_cloudwatch_metric_alarm.this["redriver-not-running"].metric_name == "Invocations" &&
      aws_cloudwatch_metric_alarm.this["redriver-not-running"].comparison_operator == "LessThanThreshold" &&
      aws_cloudwatch_metric_alarm.this["redriver-not-running"].threshold == 1 &&
      aws_cloudwatch_metric_alarm.this["redriver-not-running"].period == 300 &&
    aws_cloudwatch_metric_alarm.this["redriver-not-running"].treat_missing_data == "breaching")
    error_message = "Five minutes without a redriver pass must alarm (no datapoint counts as none)."
  }

  assert {
    condition = alltrue([for m in ["Invocations", "Errors", "Duration"] : contains(flatten([
      for w in jsondecode(aws_cloudwatch_dashboard.hub.dashboard_body).widgets : [
        for x in w.properties.metrics : "${x[1]} ${x[3]}" if x[0] == "AWS/Lambda"
    ]]), "${m} payments-hub-redriver")])
    error_message = "The dashboard must show the redriver's invocations, errors and duration."
  }

  assert {
    condition     = output.redriver_function_name == "payments-hub-redriver"
    error_message = "Unexpected redriver_function_name."
  }

  # --- the application's policy ----------------------------------------------------------------
  assert {
    condition = jsondecode(output.application_policy_json) == {
      Version = "2012-10-17"
      Statement = [{
        Sid      = "TransactionsTable"
        Effect   = "Allow"
        Action   = ["dynamodb:GetItem", "dynamodb:PutItem"]
        Resource = ["arn:aws:dynamodb:us-east-1:123456789012:table/payments-hub-transactions"]
      }]
    }
    error_message = "application_policy_json must grant exactly GetItem and PutItem on the transactions table (hubctl transactions expect)."
  }

  # --- outputs -------------------------------------------------------------------------------
  assert {
    condition = output.hubctl_env == join("", [
      "export QUEUE_URL=${output.queue_url}\n",
      "export DLQ_URL=${output.dlq_url}\n",
      "export EVENTS_TABLE=payments-hub-events\n",
      "export TRANSACTIONS_TABLE=payments-hub-transactions\n",
      "export AWS_REGION=us-east-1\n",
      "export AUTO_REDRIVE_SECONDS=300,1800,7200\n",
    ])
    error_message = "Unexpected hubctl_env."
  }
}

run "custom_settings" {
  variables {
    name_prefix                        = "hub-test"
    maximum_concurrency                = 5
    processor_timeout                  = 60
    job_timeout_seconds                = 45
    alarm_email                        = "ops@example.com"
    ssm_kms_key_arn                    = "arn:aws:kms:us-east-1:123456789012:key/custom"
    max_receive_count                  = 5
    monetbil_allow_testmode            = true
    maximum_batching_window_in_seconds = 0
    batch_size                         = 5
    stripe_mode                        = "test"
    require_expected_transactions      = true
    create_operator_policy             = true
    operator_principal_arns            = ["arn:aws:iam::123456789012:role/oncall"]
    api_access_log                     = true
    log_group_class                    = "INFREQUENT_ACCESS"
  }

  assert {
    condition     = module.processor.settings.reserved == 5 && module.processor.settings.environment["BATCH_CONCURRENCY"] == "5"
    error_message = "Reserved concurrency must follow maximum_concurrency, BATCH_CONCURRENCY batch_size."
  }

  assert {
    condition     = module.processor.settings.environment["STRIPE_MODE"] == "test" && module.processor.settings.environment["REQUIRE_EXPECTED_TRANSACTIONS"] == "true"
    error_message = "STRIPE_MODE and REQUIRE_EXPECTED_TRANSACTIONS must follow their variables."
  }

  assert {
    condition     = aws_iam_policy.operator[0].policy == output.operator_policy_json && aws_iam_policy.operator[0].name == "hub-test-operator"
    error_message = "create_operator_policy must create the operator policy from operator_policy_json."
  }

  assert {
    condition = one([for st in jsondecode(aws_sqs_queue_policy.main.policy).Statement : st if st.Sid == "OnlyTheHubSends"]).Condition.ArnNotEquals["aws:PrincipalArn"] == [
    "arn:aws:iam::123456789012:role/payments-hub-ingest-role", "arn:aws:iam::123456789012:role/payments-hub-redriver-role", "arn:aws:iam::123456789012:role/oncall"]
    error_message = "Operators who redrive must be allowed to send to the main queue."
  }

  assert {
    condition     = can(jsondecode(aws_apigatewayv2_stage.default[0].access_log_settings[0].format).requestId) && length(aws_cloudwatch_log_group.api_access) == 1
    error_message = "api_access_log must turn on a JSON access log."
  }

  assert {
    condition     = module.ingest.settings.log_group_class == "INFREQUENT_ACCESS" && module.processor.settings.log_group_class == "INFREQUENT_ACCESS"
    error_message = "log_group_class must follow its variable."
  }

  assert {
    condition     = aws_lambda_event_source_mapping.processor.scaling_config[0].maximum_concurrency == 5
    error_message = "maximum_concurrency must follow its variable."
  }

  assert {
    condition     = module.processor.settings.timeout == 60
    error_message = "A processor timeout equal to the visibility timeout is allowed."
  }

  assert {
    condition     = module.queue.max_receive_count == 5 && module.processor.settings.environment["MAX_ATTEMPTS"] == "5"
    error_message = "MAX_ATTEMPTS must follow max_receive_count."
  }

  assert {
    condition     = module.processor.settings.environment["MONETBIL_ALLOW_TESTMODE"] == "true"
    error_message = "MONETBIL_ALLOW_TESTMODE must follow its variable."
  }

  assert {
    condition     = one([for st in jsondecode(module.ingest.policy_json).Statement : st.Resource if st.Sid == "SsmKmsKey"]) == ["arn:aws:kms:us-east-1:123456789012:key/custom"]
    error_message = "kms:Decrypt must use ssm_kms_key_arn when set."
  }

  assert {
    condition     = length(aws_sns_topic_subscription.alarm_email) == 1
    error_message = "alarm_email must add an e-mail subscription."
  }

  assert {
    condition     = output.queue_url != "" && module.queue.queue_name == "hub-test-events" && module.queue.dlq_name == "hub-test-failed-jobs"
    error_message = "Queue names must be <prefix>-events and <prefix>-failed-jobs."
  }
}

run "auto_redrive_off" {
  variables {
    auto_redrive_seconds = []
  }

  assert {
    condition = (length(module.redriver) == 0 && length(aws_scheduler_schedule.redriver) == 0 &&
      length(aws_iam_role.redriver_schedule) == 0 && length(aws_iam_role_policy.redriver_schedule) == 0 &&
    length(aws_lambda_function_event_invoke_config.redriver) == 0 && output.redriver_function_name == null)
    error_message = "An empty auto_redrive_seconds must create no redriver, schedule, role or invoke config."
  }

  assert {
    condition     = strcontains(output.hubctl_env, "export AUTO_REDRIVE_SECONDS=off\n")
    error_message = "Without the redriver, hubctl_env must tell hubctl that no automatic round comes."
  }

  assert {
    condition     = length([for k in keys(aws_cloudwatch_metric_alarm.this) : k if startswith(k, "redriver")]) == 0
    error_message = "No redriver alarms without the redriver."
  }

  assert {
    condition     = one([for st in jsondecode(aws_sqs_queue_policy.main.policy).Statement : st if st.Sid == "OnlyTheHubSends"]).Condition.ArnNotEquals["aws:PrincipalArn"] == ["arn:aws:iam::123456789012:role/payments-hub-ingest-role"]
    error_message = "Without the redriver only the ingest's role sends to the queue."
  }

  assert {
    condition = !contains(flatten([for w in jsondecode(aws_cloudwatch_dashboard.hub.dashboard_body).widgets : [
    for x in w.properties.metrics : x[3] if x[0] == "AWS/Lambda"]]), "payments-hub-redriver")
    error_message = "The dashboard must not show a redriver that does not exist."
  }

  assert {
    condition     = aws_lambda_event_source_mapping.processor.scaling_config[0].maximum_concurrency == 40 && module.processor.settings.environment["MAX_ATTEMPTS"] == "3"
    error_message = "The rest of the stack must be unchanged."
  }
}

run "redrive_every_five_minutes" {
  variables {
    redrive_schedule     = "rate(5 minutes)"
    auto_redrive_seconds = [60, 600]
    max_receive_count    = 4
  }

  assert {
    condition     = module.redriver[0].settings.timeout == 120 && aws_scheduler_schedule.redriver[0].schedule_expression == "rate(5 minutes)"
    error_message = "At rate(5 minutes) the redriver's timeout is its default, 120 s."
  }

  assert {
    condition     = module.redriver[0].settings.environment["AUTO_REDRIVE_SECONDS"] == "60,600" && module.redriver[0].settings.environment["MAX_ATTEMPTS"] == "4"
    error_message = "AUTO_REDRIVE_SECONDS and MAX_ATTEMPTS must follow their variables."
  }

  assert {
    condition     = aws_cloudwatch_metric_alarm.this["redriver-not-running"].period == 600
    error_message = "The not-running alarm must wait two intervals."
  }
}

run "redrive_on_a_cron_schedule" {
  variables {
    redrive_schedule = "cron(0/2 * * * ? *)"
    redriver_timeout = 30
  }

  assert {
    condition     = module.redriver[0].settings.timeout == 30 && !contains(keys(aws_cloudwatch_metric_alarm.this), "redriver-not-running") && contains(keys(aws_cloudwatch_metric_alarm.this), "redriver-errors")
    error_message = "A cron schedule: the timeout as set, the errors alarm, no not-running alarm."
  }
}

run "redriver_timeout_near_the_interval_is_refused" {
  command = plan

  variables {
    redriver_timeout = 46
  }

  expect_failures = [var.redriver_timeout]
}

run "redriver_timeout_near_a_cron_minute_is_refused" {
  command = plan

  variables {
    redrive_schedule = "cron(0/5 * * * ? *)"
    redriver_timeout = 120
  }

  expect_failures = [var.redriver_timeout]
}

run "redrive_schedule_must_be_rate_or_cron" {
  command = plan

  variables {
    redrive_schedule = "every minute"
  }

  expect_failures = [var.redrive_schedule]
}

run "auto_redrive_beyond_the_dlq_retention_is_refused" {
  command = plan

  variables {
    auto_redrive_seconds = [300, 1209600]
  }

  expect_failures = [var.auto_redrive_seconds]
}

run "negative_auto_redrive_is_refused" {
  command = plan

  variables {
    auto_redrive_seconds = [-1]
  }

  expect_failures = [var.auto_redrive_seconds]
}

run "zero_auto_redrive_is_refused" {
  command = plan

  variables {
    auto_redrive_seconds = [0, 300]
  }

  expect_failures = [var.auto_redrive_seconds]
}

run "redrive_schedule_units_agree_with_their_number" {
  command = plan

  variables {
    redrive_schedule = "rate(1 minutes)"
  }

  expect_failures = [var.redrive_schedule]
}

run "redriver_timeout_above_lambdas_limit_is_refused" {
  command = plan

  variables {
    redrive_schedule = "rate(1 hour)"
    redriver_timeout = 901
  }

  expect_failures = [var.redriver_timeout]
}

run "batch_concurrency_above_what_the_processor_accepts_is_refused" {
  command = plan

  variables {
    batch_size        = 200
    batch_concurrency = 101
  }

  expect_failures = [var.batch_concurrency]
}

run "large_batches_run_at_most_100_records_at_once" {
  command = plan

  variables {
    batch_size = 200
  }

  assert {
    condition     = module.processor.settings.environment["BATCH_CONCURRENCY"] == "100"
    error_message = "BATCH_CONCURRENCY must default to batch_size capped at 100, what the processor accepts."
  }
}

run "localstack_tfvars_without_http_api" {
  variables {
    localstack_endpoint = "http://localhost:4566"
    ssm_kms_key_arn     = "arn:aws:kms:us-east-1:000000000000:key/00000000-0000-0000-0000-000000000000"
    deletion_protection = false
    create_http_api     = false
  }

  assert {
    condition     = length(aws_apigatewayv2_api.webhooks) == 0 && length(aws_apigatewayv2_route.webhooks) == 0 && length(aws_lambda_permission.api_invoke_ingest) == 0
    error_message = "create_http_api = false must create no API resources."
  }

  assert {
    condition     = output.stripe_webhook_url == null && !contains(keys(aws_cloudwatch_metric_alarm.this), "api-5xx")
    error_message = "Without the API there is no webhook URL and no 5xx alarm."
  }

  assert {
    condition     = aws_lambda_event_source_mapping.processor.scaling_config[0].maximum_concurrency == 40
    error_message = "The rest of the stack must be unchanged."
  }
}

run "processor_timeout_above_visibility_timeout_is_refused" {
  command = plan

  variables {
    processor_timeout                  = 61
    maximum_batching_window_in_seconds = 0
  }

  expect_failures = [var.processor_timeout]
}

run "processor_timeout_above_custom_visibility_timeout_is_refused" {
  command = plan

  variables {
    queue_visibility_timeout           = 40
    processor_timeout                  = 45
    maximum_batching_window_in_seconds = 0
  }

  expect_failures = [var.processor_timeout]
}

run "dlq_must_outlive_the_queue" {
  command = plan

  variables {
    queue_message_retention_seconds = 1209600
  }

  expect_failures = [var.queue_message_retention_seconds]
}

run "maximum_concurrency_below_two_is_refused" {
  command = plan

  variables {
    maximum_concurrency = 1
  }

  expect_failures = [var.maximum_concurrency]
}

run "function_url_front_door" {
  variables {
    create_function_url         = true
    ingest_reserved_concurrency = 50
  }

  assert {
    condition     = aws_lambda_function_url.ingest[0].authorization_type == "NONE" && aws_lambda_permission.function_url_ingest[0].function_url_auth_type == "NONE"
    error_message = "The function URL is public: webhooks are authenticated by their signatures."
  }

  assert {
    condition     = aws_lambda_permission.function_url_ingest[0].action == "lambda:InvokeFunctionUrl" && aws_lambda_permission.function_url_invoke_ingest[0].action == "lambda:InvokeFunction"
    error_message = "Function URLs need both lambda:InvokeFunctionUrl and lambda:InvokeFunction."
  }

  assert {
    condition     = module.ingest.settings.reserved == 50 && length(aws_apigatewayv2_api.webhooks) == 1
    error_message = "The ingest's reserved concurrency caps the function URL; API Gateway stays."
  }
}

run "batching_window_beyond_the_visibility_timeout_is_refused" {
  command = plan

  variables {
    processor_timeout                  = 55
    maximum_batching_window_in_seconds = 10
  }

  expect_failures = [var.maximum_batching_window_in_seconds]
}

run "reserved_concurrency_below_maximum_concurrency_is_refused" {
  command = plan

  variables {
    maximum_concurrency            = 10
    processor_reserved_concurrency = 5
  }

  expect_failures = [var.processor_reserved_concurrency]
}

run "dlq_age_alarm_after_retention_is_refused" {
  command = plan

  variables {
    dlq_oldest_message_age_threshold_seconds = 1209600
  }

  expect_failures = [var.dlq_oldest_message_age_threshold_seconds]
}
