locals {
  api_endpoint = one(aws_apigatewayv2_api.webhooks[*].api_endpoint)
}

output "api_endpoint" {
  description = "Base URL of the webhook API (null without create_http_api)."
  value       = local.api_endpoint
}

output "stripe_webhook_url" {
  description = "URL to register as the Stripe webhook endpoint (null without create_http_api)."
  value       = local.api_endpoint == null ? null : "${local.api_endpoint}/webhooks/stripe"
}

output "monetbil_webhook_url" {
  description = "URL to register as the Monetbil notification URL (null without create_http_api)."
  value       = local.api_endpoint == null ? null : "${local.api_endpoint}/webhooks/monetbil"
}

output "queue_url" {
  description = "URL of the main queue."
  value       = module.queue.queue_url
}

output "queue_arn" {
  description = "ARN of the main queue."
  value       = module.queue.queue_arn
}

output "dlq_url" {
  description = "URL of the dead-letter queue."
  value       = module.queue.dlq_url
}

output "dlq_arn" {
  description = "ARN of the dead-letter queue."
  value       = module.queue.dlq_arn
}

output "events_table" {
  description = "Name of the events table."
  value       = module.storage.events_table_name
}

output "transactions_table" {
  description = "Name of the transactions table."
  value       = module.storage.transactions_table_name
}

output "ingest_function_name" {
  description = "Name of the ingest function."
  value       = module.ingest.function_name
}

output "processor_function_name" {
  description = "Name of the processor function."
  value       = module.processor.function_name
}

output "redriver_function_name" {
  description = "Name of the redriver function (automatic redrive rounds), or null when auto_redrive_seconds is empty."
  value       = one(module.redriver[*].function_name)
}

output "alarm_topic_arn" {
  description = "SNS topic the alarms publish to."
  value       = aws_sns_topic.alarms.arn
}

output "dashboard_url" {
  description = "CloudWatch dashboard of the hub."
  value       = "https://${local.region}.console.aws.amazon.com/cloudwatch/home?region=${local.region}#dashboards/dashboard/${aws_cloudwatch_dashboard.hub.dashboard_name}"
}

output "hubctl_env" {
  description = "Shell lines that point hubctl at this deployment (and at its automatic redrive schedule, for the rounds hubctl shows): eval \"$(terraform output -raw hubctl_env)\"."
  value       = <<-EOT
    export QUEUE_URL=${module.queue.queue_url}
    export DLQ_URL=${module.queue.dlq_url}
    export EVENTS_TABLE=${module.storage.events_table_name}
    export TRANSACTIONS_TABLE=${module.storage.transactions_table_name}
    export AWS_REGION=${local.region}
    export AUTO_REDRIVE_SECONDS=${local.auto_redrive ? join(",", [for s in var.auto_redrive_seconds : tostring(s)]) : "off"}
  EOT
}

output "ingest_function_url" {
  description = "The ingest's function URL (create_function_url), the alternative front door: register <url>webhooks/stripe and <url>webhooks/monetbil. null without it."
  value       = one(aws_lambda_function_url.ingest[*].function_url)
}

output "operator_policy_json" {
  description = "The IAM policy an on-call engineer's role needs for hubctl against this deployment (status, failed jobs, transactions get, events get)."
  value       = local.operator_policy_json
}

output "application_policy_json" {
  description = "The IAM policy the role of the application that creates payments needs for hubctl transactions expect (the store's Expect): dynamodb:GetItem and PutItem on the transactions table, nothing else."
  value       = local.application_policy_json
}

output "operator_policy_arn" {
  description = "ARN of the managed operator policy (create_operator_policy), or null."
  value       = one(aws_iam_policy.operator[*].arn)
}

# What the settings sustain, from the measured time per batch (terraform/README.md, Scale).
output "capacity" {
  description = "Webhooks/s the API accepts (rate, burst) and the processor drains at the assumed time per batch."
  value = {
    api_rate_per_second         = var.api_throttling_rate_limit
    api_burst                   = var.api_throttling_burst_limit
    batch_seconds_assumed       = local.batch_seconds_assumed
    processor_events_per_second = floor(var.maximum_concurrency * var.batch_size / local.batch_seconds_assumed)
    processor_reserved          = local.processor_reserved_concurrency
  }
}
