variable "name" {
  description = "Function name; also names its role, policy and log group /aws/lambda/<name>."
  type        = string

  validation {
    # 64 is Lambda's limit on function names; IAM role names allow the same characters.
    condition     = can(regex("^[A-Za-z0-9_-]{1,59}$", var.name))
    error_message = "name must be 1-59 characters of letters, digits, '-' or '_' (the role is <name>-role)."
  }
}

variable "description" {
  description = "Function description."
  type        = string
  default     = ""
}

variable "filename" {
  description = "Path of the deployment zip (a `bootstrap` binary for provided.al2023/arm64, as built by `make build`)."
  type        = string
}

variable "memory_size" {
  description = "Memory in MB."
  type        = number
  default     = 128

  validation {
    condition     = var.memory_size >= 128 && var.memory_size <= 10240
    error_message = "memory_size must be between 128 and 10240 MB."
  }
}

variable "timeout" {
  description = "Function timeout in seconds."
  type        = number
  default     = 10

  validation {
    condition     = var.timeout >= 1 && var.timeout <= 900
    error_message = "timeout must be between 1 and 900 seconds."
  }
}

variable "reserved_concurrent_executions" {
  description = "Concurrency reserved for (and capping) the function; -1 leaves it in the account's unreserved pool."
  type        = number
  default     = -1

  validation {
    condition     = var.reserved_concurrent_executions >= -1
    error_message = "reserved_concurrent_executions must be -1 (unreserved) or at least 0."
  }
}

variable "system_log_level" {
  description = "Lambda's filter for its own platform records in JSON logs (DEBUG, INFO, WARN). WARN drops the per-invocation START/REPORT lines."
  type        = string
  default     = "WARN"

  validation {
    condition     = contains(["DEBUG", "INFO", "WARN"], var.system_log_level)
    error_message = "system_log_level must be DEBUG, INFO or WARN."
  }
}

variable "log_group_class" {
  description = "Class of the function's log group: STANDARD, or INFREQUENT_ACCESS (half the ingestion price, but no metric filters, subscriptions or Embedded Metric Format metrics)."
  type        = string
  default     = "STANDARD"

  validation {
    condition     = contains(["STANDARD", "INFREQUENT_ACCESS"], var.log_group_class)
    error_message = "log_group_class must be STANDARD or INFREQUENT_ACCESS."
  }
}

variable "environment" {
  description = "Environment variables of the function."
  type        = map(string)
  default     = {}
}

variable "log_retention_days" {
  description = "Retention of the function's log group."
  type        = number
  default     = 30

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be one of CloudWatch Logs' retention values (1, 3, 5, 7, 14, 30, 60, 90, ...)."
  }
}

variable "log_level" {
  description = "Lambda's application log level filter for JSON logs (TRACE, DEBUG, INFO, WARN, ERROR, FATAL), or null to keep every line."
  type        = string
  default     = null

  validation {
    condition     = var.log_level == null || contains(["TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL"], coalesce(var.log_level, "INFO"))
    error_message = "log_level must be null or one of TRACE, DEBUG, INFO, WARN, ERROR, FATAL."
  }
}

variable "policy_statements" {
  description = <<-EOT
    IAM statements (Allow) added to the function's role besides the logging one. Actions must be
    spelled out: no wildcard. conditions become the statement's Condition block.
  EOT
  type = list(object({
    sid       = string
    actions   = list(string)
    resources = list(string)
    conditions = optional(list(object({
      test     = string
      variable = string
      values   = list(string)
    })), [])
  }))
  default = []

  validation {
    condition     = alltrue([for s in var.policy_statements : length(s.actions) > 0 && alltrue([for a in s.actions : !strcontains(a, "*") && !strcontains(a, "?")])])
    error_message = "Every statement needs at least one action, and no action may contain a wildcard ('*' or '?')."
  }

  validation {
    condition     = alltrue([for s in var.policy_statements : can(regex("^[A-Za-z0-9]+$", s.sid)) && s.sid != "Logs"])
    error_message = "Every sid must be alphanumeric and must not be \"Logs\" (used by the module)."
  }
}

variable "tags" {
  description = "Tags for the function, its role and its log group."
  type        = map(string)
  default     = {}
}
