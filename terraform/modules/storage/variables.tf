variable "name_prefix" {
  description = "Prefix of the table names: <prefix>-events and <prefix>-transactions."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9_.-]{1,200}$", var.name_prefix))
    error_message = "name_prefix must be 1-200 characters of letters, digits, '_', '.' or '-'."
  }
}

variable "deletion_protection" {
  description = "Protect both tables against deletion (turn off before a terraform destroy)."
  type        = bool
  default     = true
}

variable "point_in_time_recovery" {
  description = "Continuous backups (PITR) on both tables. Keep true on AWS; only local emulators without the API turn it off."
  type        = bool
  default     = true
}

variable "server_side_encryption" {
  description = "Encrypt both tables with the AWS-managed KMS key (aws/dynamodb) instead of the AWS-owned default key. Keep true on AWS."
  type        = bool
  default     = true
}

variable "ttl_attribute" {
  description = "Name of the epoch-seconds attribute after which DynamoDB may delete an item."
  type        = string
  default     = "expires_at"
}

variable "tags" {
  description = "Tags for both tables."
  type        = map(string)
  default     = {}
}

variable "payment_intent_index" {
  description = "Name of the transactions table's global secondary index on stripe_payment_intent. Empty only for DynamoDB Local, which reads the index back without its name, so every plan would replace it."
  type        = string
  default     = "by_stripe_payment_intent"
}
