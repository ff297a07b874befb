# The work queue and its dead-letter queue.

resource "aws_sqs_queue" "dlq" {
  name                      = "${var.name_prefix}-failed-jobs"
  message_retention_seconds = var.dlq_message_retention_seconds
  max_message_size          = var.max_message_size
  sqs_managed_sse_enabled   = true
  tags                      = var.tags
}

resource "aws_sqs_queue" "main" {
  name                       = "${var.name_prefix}-events"
  visibility_timeout_seconds = var.visibility_timeout_seconds
  message_retention_seconds  = var.message_retention_seconds
  max_message_size           = var.max_message_size
  receive_wait_time_seconds  = var.receive_wait_time_seconds
  sqs_managed_sse_enabled    = true
  # redrive_policy is set by aws_sqs_queue_redrive_policy.main below: leave it out here, or
  # the two would fight.

  tags = var.tags
}

# After max_receive_count receives a message goes to the DLQ on its next receive.
# A separate resource rather than the queue's own redrive_policy argument so that both queues
# are created in parallel, then both policies: the provider waits ~25 s for every SQS
# attribute change to propagate, and the chain dlq -> main -> allow policy would cost 75 s.
resource "aws_sqs_queue_redrive_policy" "main" {
  queue_url = aws_sqs_queue.main.id

  redrive_policy = jsonencode({
    deadLetterTargetArn = aws_sqs_queue.dlq.arn
    maxReceiveCount     = var.max_receive_count
  })
}

# Only the main queue may use the DLQ. With byQueue naming the source, the console's
# "Start DLQ redrive" (StartMessageMoveTask without a destination) knows where to send
# messages back.
resource "aws_sqs_queue_redrive_allow_policy" "dlq" {
  queue_url = aws_sqs_queue.dlq.id

  redrive_allow_policy = jsonencode({
    redrivePermission = "byQueue"
    sourceQueueArns   = [aws_sqs_queue.main.arn]
  })
}
