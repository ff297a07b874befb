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

variables {
  ingest_zip_path    = "tests/fixtures/bootstrap.zip"
  processor_zip_path = "tests/fixtures/bootstrap.zip"
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
      QUEUE_URL               = module.queue.queue_url
      DLQ_URL                 = module.queue.dlq_url
      EVENTS_TABLE            = "payments-hub-events"
      TRANSACTIONS_TABLE      = "payments-hub-transactions"
      BACKOFF_SECONDS         = "10,30,60"
      MAX_ATTEMPTS            = "3"
      JOB_TIMEOUT_SECONDS     = "20"
      MONETBIL_API_URL        = "https://api.monetbil.com"
      MONETBIL_ALLOW_TESTMODE = "false"
      LOG_LEVEL               = "info"
    })
    error_message = "Unexpected processor environment."
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

  # --- IAM -----------------------------------------------------------------------------------
  assert {
    condition = alltrue([
      for doc in [
        jsondecode(module.ingest.policy_json),
        jsondecode(module.processor.policy_json),
        jsondecode(module.ingest.assume_role_policy_json),
        jsondecode(module.processor.assume_role_policy_json),
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

  assert {
    condition = sort(flatten([for st in jsondecode(module.ingest.policy_json).Statement : st.Action])) == sort([
      "logs:CreateLogStream", "logs:PutLogEvents", "sqs:SendMessage", "ssm:GetParameter", "kms:Decrypt",
    ])
    error_message = "The ingest role must allow exactly logging, sqs:SendMessage, ssm:GetParameter and kms:Decrypt."
  }

  assert {
    condition = sort(flatten([for st in jsondecode(module.processor.policy_json).Statement : st.Action])) == sort([
      "logs:CreateLogStream", "logs:PutLogEvents",
      "sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility", "sqs:GetQueueAttributes",
      "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:ConditionCheckItem",
    ])
    error_message = "The processor role must allow exactly logging, the four SQS consumer actions and the four DynamoDB item actions."
  }

  assert {
    condition = one([for st in jsondecode(module.ingest.policy_json).Statement : st.Resource if st.Sid == "ReadWebhookSecrets"]) == [
      "arn:aws:ssm:us-east-1:123456789012:parameter/payments-hub/stripe-webhook-secret",
      "arn:aws:ssm:us-east-1:123456789012:parameter/payments-hub/monetbil-service-secret",
    ]
    error_message = "ssm:GetParameter must be on exactly the two secret parameters."
  }

  assert {
    condition = one([for st in jsondecode(module.ingest.policy_json).Statement : st if st.Sid == "DecryptWebhookSecrets"]) == {
      Sid       = "DecryptWebhookSecrets"
      Effect    = "Allow"
      Action    = ["kms:Decrypt"]
      Resource  = ["arn:aws:kms:us-east-1:123456789012:key/11111111-2222-3333-4444-555555555555"]
      Condition = { StringEquals = { "kms:ViaService" = ["ssm.us-east-1.amazonaws.com"] } }
    }
    error_message = "kms:Decrypt must be on the aws/ssm key, only via SSM in this region."
  }

  assert {
    condition = alltrue([
      for doc in [jsondecode(module.ingest.policy_json), jsondecode(module.processor.policy_json)] :
      one([for st in doc.Statement : st.Resource if st.Sid == "Logs"]) == ["arn:aws:logs:us-east-1:123456789012:log-group:mock:*"]
    ])
    error_message = "Logging permissions must be scoped to the function's own log group."
  }

  # --- event source mapping ------------------------------------------------------------------
  assert {
    condition     = aws_lambda_event_source_mapping.processor.function_response_types == toset(["ReportBatchItemFailures"])
    error_message = "The mapping must report batch item failures."
  }

  assert {
    condition     = aws_lambda_event_source_mapping.processor.scaling_config[0].maximum_concurrency == 2
    error_message = "The mapping's maximum_concurrency must default to 2."
  }

  assert {
    condition     = aws_lambda_event_source_mapping.processor.batch_size == 10 && aws_lambda_event_source_mapping.processor.maximum_batching_window_in_seconds == 1
    error_message = "The mapping must batch 10 records within 1 s."
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
    condition     = can(jsondecode(aws_apigatewayv2_stage.default[0].access_log_settings[0].format).requestId)
    error_message = "Access logs must be JSON."
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
      "dlq-not-empty", "queue-oldest-message-age", "processor-errors", "processor-throttles",
      "ingest-errors", "ingest-throttles", "api-5xx",
    ])
    error_message = "Unexpected set of alarms."
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
    condition     = length(jsondecode(aws_cloudwatch_dashboard.hub.dashboard_body).widgets) == 6
    error_message = "The dashboard must have its six widgets."
  }

  # --- outputs -------------------------------------------------------------------------------
  assert {
    condition = output.hubctl_env == join("", [
      "export QUEUE_URL=${output.queue_url}\n",
      "export DLQ_URL=${output.dlq_url}\n",
      "export EVENTS_TABLE=payments-hub-events\n",
      "export TRANSACTIONS_TABLE=payments-hub-transactions\n",
      "export AWS_REGION=us-east-1\n",
    ])
    error_message = "Unexpected hubctl_env."
  }
}

run "custom_settings" {
  variables {
    name_prefix             = "hub-test"
    maximum_concurrency     = 5
    processor_timeout       = 60
    job_timeout_seconds     = 45
    alarm_email             = "ops@example.com"
    ssm_kms_key_arn         = "arn:aws:kms:us-east-1:123456789012:key/custom"
    max_receive_count       = 5
    monetbil_allow_testmode = true
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
    condition     = one([for st in jsondecode(module.ingest.policy_json).Statement : st.Resource if st.Sid == "DecryptWebhookSecrets"]) == ["arn:aws:kms:us-east-1:123456789012:key/custom"]
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
    condition     = aws_lambda_event_source_mapping.processor.scaling_config[0].maximum_concurrency == 2
    error_message = "The rest of the stack must be unchanged."
  }
}

run "processor_timeout_above_visibility_timeout_is_refused" {
  command = plan

  variables {
    processor_timeout = 61
  }

  expect_failures = [var.processor_timeout]
}

run "processor_timeout_above_custom_visibility_timeout_is_refused" {
  command = plan

  variables {
    queue_visibility_timeout = 40
    processor_timeout        = 45
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
