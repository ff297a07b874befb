variable "name_prefix" {
  description = "Prefix of every name: the queue is <prefix>-events, its DLQ <prefix>-failed-jobs."
  type        = string

  validation {
    # 80 characters is SQS's limit; the longest suffix is "-failed-jobs" (12).
    condition     = can(regex("^[A-Za-z0-9_-]{1,68}$", var.name_prefix))
    error_message = "name_prefix must be 1-68 characters of letters, digits, '-' or '_'."
  }
}

variable "visibility_timeout_seconds" {
  description = "Visibility timeout of the main queue. The processor's function timeout must not exceed it."
  type        = number
  default     = 60

  validation {
    condition     = var.visibility_timeout_seconds >= 0 && var.visibility_timeout_seconds <= 43200
    error_message = "visibility_timeout_seconds must be between 0 and 43200 (12 h)."
  }
}

variable "message_retention_seconds" {
  description = "Retention of the main queue (default 4 days)."
  type        = number
  default     = 345600

  validation {
    condition     = var.message_retention_seconds >= 60 && var.message_retention_seconds <= 1209600
    error_message = "message_retention_seconds must be between 60 and 1209600 (14 days)."
  }
}

variable "dlq_message_retention_seconds" {
  description = "Retention of the dead-letter queue. A standard queue keeps a message's original enqueue time when it is dead-lettered, so this must be longer than the main queue's retention (default: the 14-day maximum)."
  type        = number
  default     = 1209600

  validation {
    condition     = var.dlq_message_retention_seconds <= 1209600 && var.dlq_message_retention_seconds > var.message_retention_seconds
    error_message = "dlq_message_retention_seconds must be greater than message_retention_seconds (dead-lettered messages keep their original enqueue time) and at most 1209600 (14 days)."
  }
}

variable "max_message_size" {
  description = <<-EOT
    Largest message body in bytes. SQS accepts up to 1 MiB (1048576) since August 2025, but the
    hashicorp/aws 5.x provider this configuration is pinned to (~> 5.100) refuses anything above
    262144 at plan time (and sends 262144 when the argument is left out); the limit was lifted in
    the 6.x line (terraform-provider-aws PR #43710). Raise this to 1048576 together with a move to
    a 6.x provider.
  EOT
  type        = number
  default     = 262144

  validation {
    condition     = var.max_message_size >= 1024 && var.max_message_size <= 1048576
    error_message = "max_message_size must be between 1024 and 1048576 bytes."
  }
}

variable "receive_wait_time_seconds" {
  description = "Long-polling wait of the main queue."
  type        = number
  default     = 20

  validation {
    condition     = var.receive_wait_time_seconds >= 0 && var.receive_wait_time_seconds <= 20
    error_message = "receive_wait_time_seconds must be between 0 and 20."
  }
}

variable "max_receive_count" {
  description = "Receives after which a message is moved to the DLQ (the number of attempts)."
  type        = number
  default     = 3

  validation {
    condition     = var.max_receive_count >= 1 && var.max_receive_count <= 1000 && floor(var.max_receive_count) == var.max_receive_count
    error_message = "max_receive_count must be a whole number between 1 and 1000."
  }
}

variable "tags" {
  description = "Tags for both queues."
  type        = map(string)
  default     = {}
}
