# One Go Lambda function (provided.al2023, arm64), its log group and its role.

data "aws_partition" "current" {}

resource "aws_cloudwatch_log_group" "this" {
  name              = "/aws/lambda/${var.name}"
  retention_in_days = var.log_retention_days
  log_group_class   = var.log_group_class
  tags              = var.tags
}

locals {
  # The AWSLambdaBasicExecutionRole permissions, scoped to this function's own log group
  # (created above, so logs:CreateLogGroup is not needed).
  logs_statement = {
    Sid      = "Logs"
    Effect   = "Allow"
    Action   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    Resource = ["${aws_cloudwatch_log_group.this.arn}:*"]
  }

  caller_statements = [
    for s in var.policy_statements : merge(
      {
        Sid      = s.sid
        Effect   = "Allow"
        Action   = s.actions
        Resource = s.resources
      },
      # Condition only when there is one: IAM refuses "Condition": null.
      { for k in(length(s.conditions) > 0 ? ["Condition"] : []) : k => {
        for test in distinct([for c in s.conditions : c.test]) : test => {
          for c in s.conditions : c.variable => c.values if c.test == test
        }
      } }
    )
  ]

  policy_json = jsonencode({
    Version   = "2012-10-17"
    Statement = concat([local.logs_statement], local.caller_statements)
  })
}

resource "aws_iam_role" "this" {
  name = "${var.name}-role"

  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Sid       = "LambdaAssumeRole"
      Effect    = "Allow"
      Principal = { Service = "lambda.${data.aws_partition.current.dns_suffix}" }
      Action    = "sts:AssumeRole"
    }]
  })

  tags = var.tags
}

resource "aws_iam_role_policy" "this" {
  name   = "${var.name}-policy"
  role   = aws_iam_role.this.id
  policy = local.policy_json
}

resource "aws_lambda_function" "this" {
  function_name    = var.name
  description      = var.description
  role             = aws_iam_role.this.arn
  runtime          = "provided.al2023"
  architectures    = ["arm64"]
  handler          = "bootstrap"
  filename         = var.filename
  source_code_hash = filebase64sha256(var.filename)
  memory_size      = var.memory_size
  timeout          = var.timeout

  reserved_concurrent_executions = var.reserved_concurrent_executions

  environment {
    variables = var.environment
  }

  logging_config {
    log_format            = "JSON"
    log_group             = aws_cloudwatch_log_group.this.name
    application_log_level = var.log_level
    # WARN drops the platform's START and REPORT records of every invocation (~430 B each);
    # Lambda's Duration, Errors and Throttles metrics do not come from them.
    system_log_level = var.system_log_level
  }

  tags = var.tags

  # The role must be able to write logs (and, for an SQS consumer, read the queue, which
  # Lambda checks when the event source mapping is created) before the function exists.
  depends_on = [aws_iam_role_policy.this]
}
