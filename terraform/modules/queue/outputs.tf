output "queue_url" {
  description = "URL of the main queue."
  value       = aws_sqs_queue.main.url
}

output "queue_arn" {
  description = "ARN of the main queue."
  value       = aws_sqs_queue.main.arn
}

output "queue_name" {
  description = "Name of the main queue."
  value       = aws_sqs_queue.main.name
}

output "dlq_url" {
  description = "URL of the dead-letter queue."
  value       = aws_sqs_queue.dlq.url
}

output "dlq_arn" {
  description = "ARN of the dead-letter queue."
  value       = aws_sqs_queue.dlq.arn
}

output "dlq_name" {
  description = "Name of the dead-letter queue."
  value       = aws_sqs_queue.dlq.name
}

output "visibility_timeout_seconds" {
  description = "Visibility timeout of the main queue, as configured."
  value       = aws_sqs_queue.main.visibility_timeout_seconds
}

output "max_receive_count" {
  description = "maxReceiveCount of the main queue's redrive policy, as configured."
  value       = jsondecode(aws_sqs_queue_redrive_policy.main.redrive_policy).maxReceiveCount
}

output "settings" {
  description = "The queues' settings that the tests check."
  value = {
    main = {
      visibility_timeout_seconds = aws_sqs_queue.main.visibility_timeout_seconds
      message_retention_seconds  = aws_sqs_queue.main.message_retention_seconds
      max_message_size           = aws_sqs_queue.main.max_message_size
      receive_wait_time_seconds  = aws_sqs_queue.main.receive_wait_time_seconds
      sqs_managed_sse_enabled    = aws_sqs_queue.main.sqs_managed_sse_enabled
      redrive_policy             = jsondecode(aws_sqs_queue_redrive_policy.main.redrive_policy)
    }
    dlq = {
      message_retention_seconds = aws_sqs_queue.dlq.message_retention_seconds
      sqs_managed_sse_enabled   = aws_sqs_queue.dlq.sqs_managed_sse_enabled
      redrive_allow_policy      = jsondecode(aws_sqs_queue_redrive_allow_policy.dlq.redrive_allow_policy)
    }
  }
}
