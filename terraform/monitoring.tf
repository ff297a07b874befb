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
      description = "Messages are in the dead-letter queue: inspect them with hubctl and redrive after a fix."
      namespace   = "AWS/SQS"
      metric      = "ApproximateNumberOfMessagesVisible"
      dimensions  = { QueueName = module.queue.dlq_name }
      statistic   = "Maximum"
      threshold   = 0
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
  for_each = merge(local.alarms, local.api_alarms)

  alarm_name          = "${var.name_prefix}-${each.key}"
  alarm_description   = each.value.description
  namespace           = each.value.namespace
  metric_name         = each.value.metric
  dimensions          = each.value.dimensions
  statistic           = each.value.statistic
  period              = 60
  evaluation_periods  = 1
  threshold           = each.value.threshold
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions
}

locals {
  dashboard_name = var.name_prefix

  fn_names = [module.ingest.function_name, module.processor.function_name]

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
  ]
}

resource "aws_cloudwatch_dashboard" "hub" {
  dashboard_name = local.dashboard_name
  dashboard_body = jsonencode({ widgets = local.dashboard_widgets })
}
