# Alarms (to an SNS topic) and a dashboard.

resource "aws_sns_topic" "alarms" {
  # Not encrypted with the AWS-managed aws/sns key on purpose: CloudWatch alarms cannot publish
  # to a topic under that key (its key policy cannot grant cloudwatch.amazonaws.com). Alarm
  # notifications carry no payment data.
  name = "${var.name_prefix}-alarms"
}

resource "aws_sns_topic_subscription" "alarm_email" {
  count     = var.alarm_email != "" ? 1 : 0
  topic_arn = aws_sns_topic.alarms.arn
  protocol  = "email"
  endpoint  = var.alarm_email
}

locals {
  alarm_actions = [aws_sns_topic.alarms.arn]

  # name => settings; every alarm fires on the first breaching minute.
  alarms = {
    dlq-not-empty = {
      description = local.auto_redrive ? "Messages are in the dead-letter queue: transient failures go back by themselves after ${join(", ", [for s in var.auto_redrive_seconds : "${s} s"])} (hubctl failed list shows their rounds); inspect the rest with hubctl and redrive after a fix." : "Messages are in the dead-letter queue: inspect them with hubctl and redrive after a fix."
      namespace   = "AWS/SQS"
      metric      = "ApproximateNumberOfMessagesVisible"
      dimensions  = { QueueName = module.queue.dlq_name }
      statistic   = "Maximum"
      threshold   = 0
    }
    dlq-oldest-message-age = {
      description = "The DLQ's oldest message is older than ${var.dlq_oldest_message_age_threshold_seconds} s: SQS drops it 14 days after its first enqueue. Redrive it (hubctl failed retry) or export it now."
      namespace   = "AWS/SQS"
      metric      = "ApproximateAgeOfOldestMessage"
      dimensions  = { QueueName = module.queue.dlq_name }
      statistic   = "Maximum"
      threshold   = var.dlq_oldest_message_age_threshold_seconds
      period      = 300
    }
    queue-oldest-message-age = {
      description = "The oldest message in the main queue is older than ${var.oldest_message_age_threshold_seconds} s: the processor is stuck or too slow."
      namespace   = "AWS/SQS"
      metric      = "ApproximateAgeOfOldestMessage"
      dimensions  = { QueueName = module.queue.queue_name }
      statistic   = "Maximum"
      threshold   = var.oldest_message_age_threshold_seconds
    }
    processor-errors = {
      description = "The processor function failed (whole-batch errors, timeouts or crashes)."
      namespace   = "AWS/Lambda"
      metric      = "Errors"
      dimensions  = { FunctionName = module.processor.function_name }
      statistic   = "Sum"
      threshold   = 0
    }
    processor-throttles = {
      description = "The processor function was throttled: throttled receives count towards maxReceiveCount."
      namespace   = "AWS/Lambda"
      metric      = "Throttles"
      dimensions  = { FunctionName = module.processor.function_name }
      statistic   = "Sum"
      threshold   = 0
    }
    ingest-errors = {
      description = "The ingest function failed: webhooks get 5xx and providers will retry."
      namespace   = "AWS/Lambda"
      metric      = "Errors"
      dimensions  = { FunctionName = module.ingest.function_name }
      statistic   = "Sum"
      threshold   = 0
    }
    ingest-throttles = {
      description = "The ingest function was throttled: webhooks get 5xx/429."
      namespace   = "AWS/Lambda"
      metric      = "Throttles"
      dimensions  = { FunctionName = module.ingest.function_name }
      statistic   = "Sum"
      threshold   = 0
    }
  }

  # The redriver's errors; and, since it runs on a schedule, its silence (a disabled schedule,
  # or a role Scheduler cannot use, shows no error anywhere): no pass for two intervals (at
  # least 5 minutes). That one only for rate() schedules; a cron schedule's gaps are its own.
  redriver_name = one(module.redriver[*].function_name)
  redriver_alarms = {
    for k, v in {
      redriver-errors = {
        description = "A redriver pass failed: due automatic rounds wait for the next pass. See the redriver's log lines."
        namespace   = "AWS/Lambda"
        metric      = "Errors"
        dimensions  = { FunctionName = local.redriver_name }
        statistic   = "Sum"
        threshold   = 0
      }
      redriver-not-running = {
        description        = "No redriver pass ran in ${min(86400, max(300, 2 * local.redrive_interval_seconds))} s: automatic redrive rounds are not happening (schedule disabled, its role, or the function throttled)."
        namespace          = "AWS/Lambda"
        metric             = "Invocations"
        dimensions         = { FunctionName = local.redriver_name }
        statistic          = "Sum"
        threshold          = 1
        period             = min(86400, max(300, 2 * local.redrive_interval_seconds))
        comparison         = "LessThanThreshold"
        treat_missing_data = "breaching" # no datapoint: no invocation
      }
    } : k => v if local.auto_redrive && (k != "redriver-not-running" || local.redrive_rate != null)
  }

  providers = ["stripe", "monetbil"]

  # The hub's own metrics, written in Embedded Metric Format inside the functions' log lines
  # (namespace PaymentsHub, dimension provider).
  hub_alarms = merge(
    { for p in local.providers : "${p}-webhooks-rejected" => {
      description = "More than ${var.webhook_rejections_alarm_threshold} ${p} webhooks rejected in 5 minutes: a wrong or rotated secret, or someone forging requests. See the ingest's log lines for the reason."
      namespace   = local.hub_namespace
      metric      = "WebhooksRejected"
      dimensions  = { provider = p }
      statistic   = "Sum"
      threshold   = var.webhook_rejections_alarm_threshold
      period      = 300
    } },
    { for p in local.providers : "${p}-events-mismatch" => {
      description = "A ${p} event disagreed with the provider's own answer or an earlier binding and changed nothing (outcome mismatch): a possible forgery. hubctl events get shows the fields."
      namespace   = local.hub_namespace
      metric      = "EventsMismatch"
      dimensions  = { provider = p }
      statistic   = "Sum"
      threshold   = 0
    } },
    { for p in local.providers : "${p}-events-amount-mismatch" => {
      description = "A confirmed ${p} payment's amount or currency differs from the expected transaction's (outcome amount_mismatch): it was not applied."
      namespace   = local.hub_namespace
      metric      = "EventsAmountMismatch"
      dimensions  = { provider = p }
      statistic   = "Sum"
      threshold   = 0
    } },
  )

  api_alarms = {
    for k, v in {
      api-5xx = {
        description = "The webhook API answered 5xx."
        namespace   = "AWS/ApiGateway"
        metric      = "5xx"
        dimensions  = { ApiId = one(aws_apigatewayv2_api.webhooks[*].id), Stage = one(aws_apigatewayv2_stage.default[*].name) }
        statistic   = "Sum"
        threshold   = 0
      }
    } : k => v if var.create_http_api
  }
}

resource "aws_cloudwatch_metric_alarm" "this" {
  for_each = merge(local.alarms, local.hub_alarms, local.api_alarms, local.redriver_alarms)

  alarm_name          = "${var.name_prefix}-${each.key}"
  alarm_description   = each.value.description
  namespace           = each.value.namespace
  metric_name         = each.value.metric
  dimensions          = each.value.dimensions
  statistic           = each.value.statistic
  period              = try(each.value.period, 60)
  evaluation_periods  = 1
  threshold           = each.value.threshold
  comparison_operator = try(each.value.comparison, "GreaterThanThreshold")
  treat_missing_data  = try(each.value.treat_missing_data, "notBreaching")
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions
}

locals {
  dashboard_name = var.name_prefix
  hub_namespace  = "PaymentsHub"

  # [namespace, metric, "provider", p] for each provider.
  by_provider = { for m in ["WebhooksAccepted", "WebhooksRejected", "EventsProcessed", "EventsDuplicate", "EventsRetried", "EventsFailed", "EventsMismatch", "EventsAmountMismatch", "ReceiptToAppliedMs"] :
    m => [for p in local.providers : [local.hub_namespace, m, "provider", p, { label = "${p} ${m}" }]]
  }

  fn_names = concat([module.ingest.function_name, module.processor.function_name], module.redriver[*].function_name)

  dashboard_widgets = [
    {
      type = "metric", x = 0, y = 0, width = 8, height = 6
      properties = {
        title  = "Queue depth"
        region = local.region
        view   = "timeSeries"
        stat   = "Maximum"
        period = 60
        metrics = [
          ["AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", module.queue.queue_name, { label = "visible" }],
          ["AWS/SQS", "ApproximateNumberOfMessagesNotVisible", "QueueName", module.queue.queue_name, { label = "in flight" }],
        ]
      }
    },
    {
      type = "metric", x = 8, y = 0, width = 8, height = 6
      properties = {
        title   = "Oldest message age (s)"
        region  = local.region
        view    = "timeSeries"
        stat    = "Maximum"
        period  = 60
        metrics = [["AWS/SQS", "ApproximateAgeOfOldestMessage", "QueueName", module.queue.queue_name]]
        annotations = {
          horizontal = [{ label = "alarm", value = var.oldest_message_age_threshold_seconds }]
        }
      }
    },
    {
      type = "metric", x = 16, y = 0, width = 8, height = 6
      properties = {
        title   = "DLQ depth"
        region  = local.region
        view    = "timeSeries"
        stat    = "Maximum"
        period  = 60
        metrics = [["AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", module.queue.dlq_name]]
      }
    },
    {
      type = "metric", x = 0, y = 6, width = 8, height = 6
      properties = {
        title   = "Invocations"
        region  = local.region
        view    = "timeSeries"
        stat    = "Sum"
        period  = 60
        metrics = [for f in local.fn_names : ["AWS/Lambda", "Invocations", "FunctionName", f]]
      }
    },
    {
      type = "metric", x = 8, y = 6, width = 8, height = 6
      properties = {
        title  = "Errors and throttles"
        region = local.region
        view   = "timeSeries"
        stat   = "Sum"
        period = 60
        metrics = concat(
          [for f in local.fn_names : ["AWS/Lambda", "Errors", "FunctionName", f]],
          [for f in local.fn_names : ["AWS/Lambda", "Throttles", "FunctionName", f]],
        )
      }
    },
    {
      type = "metric", x = 16, y = 6, width = 8, height = 6
      properties = {
        title  = "Duration (ms)"
        region = local.region
        view   = "timeSeries"
        period = 60
        metrics = concat(
          [for f in local.fn_names : ["AWS/Lambda", "Duration", "FunctionName", f, { stat = "Average", label = "${f} avg" }]],
          [for f in local.fn_names : ["AWS/Lambda", "Duration", "FunctionName", f, { stat = "Maximum", label = "${f} max" }]],
        )
      }
    },
    {
      type = "metric", x = 0, y = 12, width = 8, height = 6
      properties = {
        title   = "Webhooks accepted and rejected (per minute)"
        region  = local.region
        view    = "timeSeries"
        stat    = "Sum"
        period  = 60
        metrics = concat(local.by_provider.WebhooksAccepted, local.by_provider.WebhooksRejected)
      }
    },
    {
      type = "metric", x = 8, y = 12, width = 8, height = 6
      properties = {
        title  = "Events processed, duplicate, retried, failed (per minute)"
        region = local.region
        view   = "timeSeries"
        stat   = "Sum"
        period = 60
        metrics = concat(local.by_provider.EventsProcessed, local.by_provider.EventsDuplicate,
        local.by_provider.EventsRetried, local.by_provider.EventsFailed)
      }
    },
    {
      type = "metric", x = 16, y = 12, width = 8, height = 6
      properties = {
        title   = "Mismatches (not applied)"
        region  = local.region
        view    = "timeSeries"
        stat    = "Sum"
        period  = 60
        metrics = concat(local.by_provider.EventsMismatch, local.by_provider.EventsAmountMismatch)
      }
    },
    {
      type = "metric", x = 0, y = 18, width = 12, height = 6
      properties = {
        title  = "Receipt to applied (ms), p50 and p99"
        region = local.region
        view   = "timeSeries"
        period = 60
        metrics = concat(
          [for m in local.by_provider.ReceiptToAppliedMs : concat(slice(m, 0, 4), [{ stat = "p50", label = "${m[3]} p50" }])],
          [for m in local.by_provider.ReceiptToAppliedMs : concat(slice(m, 0, 4), [{ stat = "p99", label = "${m[3]} p99" }])],
        )
      }
    },
  ]
}

resource "aws_cloudwatch_dashboard" "hub" {
  dashboard_name = local.dashboard_name
  dashboard_body = jsonencode({ widgets = local.dashboard_widgets })
}
