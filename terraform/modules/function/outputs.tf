output "function_name" {
  description = "Name of the function."
  value       = aws_lambda_function.this.function_name
}

output "function_arn" {
  description = "ARN of the function."
  value       = aws_lambda_function.this.arn
}

output "invoke_arn" {
  description = "Invoke ARN, for API Gateway integrations."
  value       = aws_lambda_function.this.invoke_arn
}

output "role_name" {
  description = "Name of the function's role."
  value       = aws_iam_role.this.name
}

output "role_arn" {
  description = "ARN of the function's role."
  value       = aws_iam_role.this.arn
}

output "log_group_name" {
  description = "Name of the function's log group."
  value       = aws_cloudwatch_log_group.this.name
}

output "policy_json" {
  description = "The role's inline policy document (JSON)."
  value       = aws_iam_role_policy.this.policy
}

output "assume_role_policy_json" {
  description = "The role's trust policy (JSON)."
  value       = aws_iam_role.this.assume_role_policy
}

output "settings" {
  description = "The function's settings that the tests check."
  value = {
    runtime            = aws_lambda_function.this.runtime
    architectures      = aws_lambda_function.this.architectures
    handler            = aws_lambda_function.this.handler
    timeout            = aws_lambda_function.this.timeout
    memory_size        = aws_lambda_function.this.memory_size
    log_format         = aws_lambda_function.this.logging_config[0].log_format
    log_group          = aws_lambda_function.this.logging_config[0].log_group
    log_retention_days = aws_cloudwatch_log_group.this.retention_in_days
    log_group_class    = aws_cloudwatch_log_group.this.log_group_class
    application_log    = aws_lambda_function.this.logging_config[0].application_log_level
    system_log_level   = aws_lambda_function.this.logging_config[0].system_log_level
    reserved           = aws_lambda_function.this.reserved_concurrent_executions
    environment        = one(aws_lambda_function.this.environment[*].variables)
  }
}
