variable "sqs_endpoint" {
  description = "SQS endpoint, e.g. http://127.0.0.1:9324."
  type        = string
}

variable "dynamodb_endpoint" {
  description = "DynamoDB endpoint, e.g. http://127.0.0.1:8000."
  type        = string
}

variable "name_prefix" {
  description = "Unique prefix for this run's queues and tables."
  type        = string
}

variable "point_in_time_recovery" {
  description = "PITR on the tables. DynamoDB Local answers UpdateContinuousBackups with UnknownOperationException, so it is off here (production keeps the module's default, true)."
  type        = bool
  default     = false
}

variable "server_side_encryption" {
  description = "KMS SSE on the tables. DynamoDB Local accepts it but never reports an SSEDescription back, so every plan would want to turn it on again; off here (production keeps the module's default, true)."
  type        = bool
  default     = false
}
