# Payments Hub: API Gateway HTTP API -> ingest Lambda -> SQS -> processor Lambda -> DynamoDB.

data "aws_caller_identity" "current" {}
data "aws_region" "current" {}
data "aws_partition" "current" {}

# The AWS-managed key that encrypts SecureString parameters by default.
data "aws_kms_alias" "ssm" {
  count = var.ssm_kms_key_arn == "" ? 1 : 0
  name  = "alias/aws/ssm"
}

locals {
  region     = data.aws_region.current.name
  account_id = data.aws_caller_identity.current.account_id
  partition  = data.aws_partition.current.partition

  ingest_zip    = var.ingest_zip_path != "" ? var.ingest_zip_path : "${path.module}/../build/ingest.zip"
  processor_zip = var.processor_zip_path != "" ? var.processor_zip_path : "${path.module}/../build/processor.zip"
  redriver_zip  = var.redriver_zip_path != "" ? var.redriver_zip_path : "${path.module}/../build/redriver.zip"

  ssm_kms_key_arn = var.ssm_kms_key_arn != "" ? var.ssm_kms_key_arn : data.aws_kms_alias.ssm[0].target_key_arn

  # Parameter ARNs are "parameter" + the name; names of a hierarchy already start with "/".
  secret_param_arns = [
    for name in [var.stripe_webhook_secret_param, var.monetbil_service_secret_param] :
    "arn:${local.partition}:ssm:${local.region}:${local.account_id}:parameter/${trimprefix(name, "/")}"
  ]

  lambda_log_level = upper(var.log_level)

  # A batch's records run at once: a record waiting for a slot would start after the
  # invocation's deadline and spend an attempt without running its job. The processor
  # accepts at most 100 (BATCH_CONCURRENCY).
  batch_concurrency              = coalesce(var.batch_concurrency, min(var.batch_size, 100))
  processor_reserved_concurrency = coalesce(var.processor_reserved_concurrency, var.maximum_concurrency)

  # Automatic redrive rounds (issue 15): an empty auto_redrive_seconds creates no redriver.
  auto_redrive = length(var.auto_redrive_seconds) > 0

  # Seconds between two passes. A cron expression fires at most once a minute: 60 bounds it.
  redrive_rate             = try(regex("^rate\\(([0-9]+) (minute|hour|day)s?\\)$", var.redrive_schedule), null)
  redrive_interval_seconds = local.redrive_rate == null ? 60 : tonumber(local.redrive_rate[0]) * { minute = 60, hour = 3600, day = 86400 }[local.redrive_rate[1]]
  # Well under the interval, so that one pass ends before the next tick; with reserved
  # concurrency 1 a tick that still found a pass running would be throttled, then dropped.
  redriver_timeout = coalesce(var.redriver_timeout, min(120, floor(local.redrive_interval_seconds * 3 / 4)))

  # Time of one processor invocation on a full batch, on AWS: BENCHMARKS.md P4 measured 30 ms for
  # 10 Stripe events at once against DynamoDB Local (4 round trips each); on AWS each DynamoDB
  # round trip is 5-10 ms and a Monetbil job waits for checkPayment (~200 ms, its slowest record
  # sets the batch's time). 250 ms covers a batch with a Monetbil event; a Stripe-only batch
  # (1 write each after the store redesign) takes ~40 ms.
  batch_seconds_assumed = 0.25
}

# ---------------------------------------------------------------------------------------------
# Queue and tables
# ---------------------------------------------------------------------------------------------

module "queue" {
  source = "./modules/queue"

  name_prefix                = var.name_prefix
  visibility_timeout_seconds = var.queue_visibility_timeout
  message_retention_seconds  = var.queue_message_retention_seconds
  max_receive_count          = var.max_receive_count
}

module "storage" {
  source = "./modules/storage"

  name_prefix         = var.name_prefix
  deletion_protection = var.deletion_protection
}

# ---------------------------------------------------------------------------------------------
# Functions
# ---------------------------------------------------------------------------------------------

module "ingest" {
  source = "./modules/function"

  name                           = "${var.name_prefix}-ingest"
  description                    = "Verifies Stripe and Monetbil webhooks and enqueues them."
  filename                       = local.ingest_zip
  memory_size                    = var.ingest_memory_size
  timeout                        = var.ingest_timeout
  reserved_concurrent_executions = var.ingest_reserved_concurrency
  log_retention_days             = var.log_retention_days
  log_level                      = local.lambda_log_level
  system_log_level               = var.lambda_system_log_level
  log_group_class                = var.log_group_class

  environment = {
    QUEUE_URL                     = module.queue.queue_url
    STRIPE_WEBHOOK_SECRET_PARAM   = var.stripe_webhook_secret_param
    MONETBIL_SERVICE_SECRET_PARAM = var.monetbil_service_secret_param
    LOG_LEVEL                     = var.log_level
    MAX_MESSAGE_BYTES             = tostring(module.queue.settings.main.max_message_size)
  }

  policy_statements = local.iam_statements.ingest
}

module "processor" {
  source = "./modules/function"

  name                           = "${var.name_prefix}-processor"
  description                    = "Processes queued payment events into DynamoDB."
  filename                       = local.processor_zip
  memory_size                    = var.processor_memory_size
  timeout                        = var.processor_timeout
  reserved_concurrent_executions = local.processor_reserved_concurrency
  log_retention_days             = var.log_retention_days
  log_level                      = local.lambda_log_level
  system_log_level               = var.lambda_system_log_level
  log_group_class                = var.log_group_class

  # Exactly what internal/config reads for the processor: no more (a variable nothing reads
  # misleads whoever changes it).
  environment = {
    QUEUE_URL                     = module.queue.queue_url
    EVENTS_TABLE                  = module.storage.events_table_name
    TRANSACTIONS_TABLE            = module.storage.transactions_table_name
    BACKOFF_SECONDS               = join(",", [for s in var.backoff_seconds : tostring(s)])
    MAX_ATTEMPTS                  = tostring(var.max_receive_count)
    JOB_TIMEOUT_SECONDS           = tostring(var.job_timeout_seconds)
    BATCH_CONCURRENCY             = tostring(local.batch_concurrency)
    MONETBIL_API_URL              = var.monetbil_api_url
    MONETBIL_ALLOW_TESTMODE       = tostring(var.monetbil_allow_testmode)
    STRIPE_MODE                   = var.stripe_mode
    REQUIRE_EXPECTED_TRANSACTIONS = tostring(var.require_expected_transactions)
    LOG_LEVEL                     = var.log_level
  }

  policy_statements = local.iam_statements.processor
}

# Automatic redrive rounds (issue 15), one pass per tick of redrive_schedule (every minute by
# default): a pass receives what the DLQ holds, reads the events' failure records, records the
# next round of each transient failure that is due (a conditional write) and sends its message
# back to the main queue, then releases what it did not move. A pass on an empty DLQ is one
# invocation and one ReceiveMessage (docs/COST.md). The DLQ's own settings are unchanged.
module "redriver" {
  source = "./modules/function"
  count  = local.auto_redrive ? 1 : 0

  name        = "${var.name_prefix}-redriver"
  description = "Moves transient failures whose next automatic round is due from the DLQ back to the queue."
  filename    = local.redriver_zip
  # A pass waits on SQS, DynamoDB and at most a checkPayment call: the smallest size serves it.
  memory_size = 128
  timeout     = local.redriver_timeout
  # One pass at a time: two at once are safe (a round is a conditional write) but wasteful.
  reserved_concurrent_executions = 1
  log_retention_days             = var.log_retention_days
  log_level                      = local.lambda_log_level
  system_log_level               = var.lambda_system_log_level
  log_group_class                = var.log_group_class

  # Exactly what the redriver's configuration reads. MONETBIL_API_URL: its circuit breaker asks
  # checkPayment whether Monetbil answers before it spends a Monetbil round. MAX_ATTEMPTS: a
  # round is max_receive_count attempts.
  environment = {
    QUEUE_URL            = module.queue.queue_url
    DLQ_URL              = module.queue.dlq_url
    EVENTS_TABLE         = module.storage.events_table_name
    TRANSACTIONS_TABLE   = module.storage.transactions_table_name
    AUTO_REDRIVE_SECONDS = join(",", [for s in var.auto_redrive_seconds : tostring(s)])
    MONETBIL_API_URL     = var.monetbil_api_url
    MAX_ATTEMPTS         = tostring(var.max_receive_count)
    LOG_LEVEL            = var.log_level
  }

  policy_statements = local.iam_statements.redriver
}

# The schedule invokes asynchronously. A failed pass is not retried and a tick that waited
# (throttled behind a running pass) is dropped after a minute: the next tick is the retry.
resource "aws_lambda_function_event_invoke_config" "redriver" {
  count = local.auto_redrive ? 1 : 0

  function_name                = module.redriver[0].function_name
  maximum_retry_attempts       = 0
  maximum_event_age_in_seconds = 60
}

resource "aws_scheduler_schedule" "redriver" {
  count = local.auto_redrive ? 1 : 0

  name                = "${var.name_prefix}-redriver"
  description         = "One pass of the Payments Hub's automatic redrive rounds."
  schedule_expression = var.redrive_schedule
  state               = "ENABLED"

  # On time: a flexible window would only delay rounds.
  flexible_time_window {
    mode = "OFF"
  }

  target {
    arn      = module.redriver[0].function_arn
    role_arn = aws_iam_role.redriver_schedule[0].arn
    # The function ignores its payload.
    input = jsonencode({})

    # Same reasoning as the function's invoke config: a missed tick is not worth a retry.
    retry_policy {
      maximum_retry_attempts       = 0
      maximum_event_age_in_seconds = 60
    }
  }

  # The role must be allowed to invoke before the first tick.
  depends_on = [aws_iam_role_policy.redriver_schedule]
}

# The processor reads the queue through an event source mapping.
#
# Concurrency is capped with scaling_config.maximum_concurrency: the pollers themselves stop at
# N concurrent invocations, so no message is received for an invocation that cannot run. The
# function's reserved concurrency (processor_reserved_concurrency, by default equal to
# maximum_concurrency, as AWS advises when both are used) then only guarantees those N: without
# it, other functions exhausting the account's pool would throttle the processor, and every
# throttled receive counts towards maxReceiveCount 3. Reserved concurrency BELOW
# maximum_concurrency is what throttles, and a validation refuses it.
resource "aws_lambda_event_source_mapping" "processor" {
  event_source_arn                   = module.queue.queue_arn
  function_name                      = module.processor.function_arn
  enabled                            = true
  batch_size                         = var.batch_size
  maximum_batching_window_in_seconds = var.maximum_batching_window_in_seconds

  # Without it Lambda ignores the batchItemFailures the processor returns and deletes the
  # whole batch on success.
  function_response_types = ["ReportBatchItemFailures"]

  scaling_config {
    maximum_concurrency = var.maximum_concurrency
  }
}

# ---------------------------------------------------------------------------------------------
# HTTP API
# ---------------------------------------------------------------------------------------------

resource "aws_apigatewayv2_api" "webhooks" {
  count = var.create_http_api ? 1 : 0

  name          = "${var.name_prefix}-webhooks"
  protocol_type = "HTTP"
  description   = "Stripe and Monetbil webhooks of the Payments Hub."
}

resource "aws_apigatewayv2_integration" "ingest" {
  count = var.create_http_api ? 1 : 0

  api_id                 = aws_apigatewayv2_api.webhooks[0].id
  integration_type       = "AWS_PROXY"
  integration_method     = "POST"
  integration_uri        = module.ingest.invoke_arn
  payload_format_version = "2.0"
}

resource "aws_apigatewayv2_route" "webhooks" {
  for_each = var.create_http_api ? toset(["POST /webhooks/stripe", "POST /webhooks/monetbil"]) : toset([])

  api_id    = aws_apigatewayv2_api.webhooks[0].id
  route_key = each.value
  target    = "integrations/${aws_apigatewayv2_integration.ingest[0].id}"
}

# Off by default (api_access_log): the ingest already logs one line per request it serves
# (provider, status, latency), and what API Gateway answers itself (429, 404) is counted in its
# metrics. Turn it on while investigating: it costs about $0.21 per million webhooks.
resource "aws_cloudwatch_log_group" "api_access" {
  count = var.create_http_api && var.api_access_log ? 1 : 0

  name              = "/aws/apigateway/${var.name_prefix}-webhooks"
  retention_in_days = var.log_retention_days
}

resource "aws_apigatewayv2_stage" "default" {
  count = var.create_http_api ? 1 : 0

  api_id      = aws_apigatewayv2_api.webhooks[0].id
  name        = "$default"
  auto_deploy = true

  default_route_settings {
    throttling_burst_limit = var.api_throttling_burst_limit
    throttling_rate_limit  = var.api_throttling_rate_limit
  }

  dynamic "access_log_settings" {
    for_each = var.api_access_log ? [1] : []
    content {
      destination_arn = aws_cloudwatch_log_group.api_access[0].arn
      format = jsonencode({
        requestId          = "$context.requestId"
        requestTime        = "$context.requestTime"
        ip                 = "$context.identity.sourceIp"
        userAgent          = "$context.identity.userAgent"
        httpMethod         = "$context.httpMethod"
        routeKey           = "$context.routeKey"
        path               = "$context.path"
        status             = "$context.status"
        responseLength     = "$context.responseLength"
        responseLatency    = "$context.responseLatency"
        integrationStatus  = "$context.integrationStatus"
        integrationLatency = "$context.integrationLatency"
        integrationError   = "$context.integrationErrorMessage"
        errorMessage       = "$context.error.message"
      })
    }
  }
}

resource "aws_lambda_permission" "api_invoke_ingest" {
  count = var.create_http_api ? 1 : 0

  statement_id  = "AllowHttpApiInvoke"
  action        = "lambda:InvokeFunction"
  function_name = module.ingest.function_name
  principal     = "apigateway.amazonaws.com"
  # Any stage, only the two webhook routes.
  source_arn = "${aws_apigatewayv2_api.webhooks[0].execution_arn}/*/*/webhooks/*"
}
