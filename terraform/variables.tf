# ---------------------------------------------------------------------------------------------
# General
# ---------------------------------------------------------------------------------------------

variable "region" {
  description = "AWS region."
  type        = string
  default     = "us-east-1"
}

variable "name_prefix" {
  description = "Prefix of every resource name (queues, tables, functions, API, alarms)."
  type        = string
  default     = "payments-hub"

  validation {
    condition     = can(regex("^[A-Za-z0-9-]{1,40}$", var.name_prefix))
    error_message = "name_prefix must be 1-40 characters of letters, digits or '-'."
  }
}

variable "tags" {
  description = "Extra tags on every resource (the provider's default_tags)."
  type        = map(string)
  default     = {}
}

variable "localstack_endpoint" {
  description = "When set (e.g. http://localhost:4566), every AWS service is called at this endpoint with test credentials: LocalStack. Empty for AWS."
  type        = string
  default     = ""

  validation {
    condition     = var.localstack_endpoint == "" || can(regex("^https?://", var.localstack_endpoint))
    error_message = "localstack_endpoint must be empty or an http(s):// URL."
  }
}

variable "log_level" {
  description = "LOG_LEVEL of the functions (debug, info, warn, error); also Lambda's application log filter."
  type        = string
  default     = "info"

  validation {
    condition     = contains(["debug", "info", "warn", "error"], var.log_level)
    error_message = "log_level must be one of debug, info, warn, error."
  }
}

variable "log_retention_days" {
  description = "Retention of the functions' and the API's log groups."
  type        = number
  default     = 30
}

variable "lambda_system_log_level" {
  description = "Lambda's filter for its platform records (DEBUG, INFO, WARN). WARN, the default, drops the START/REPORT lines of every invocation (about 40 % of the log bytes per webhook); the metrics do not come from them. The functions' own lines follow log_level."
  type        = string
  default     = "WARN"

  validation {
    condition     = contains(["DEBUG", "INFO", "WARN"], var.lambda_system_log_level)
    error_message = "lambda_system_log_level must be DEBUG, INFO or WARN."
  }
}

variable "log_group_class" {
  description = "Class of the functions' log groups. STANDARD: the functions' log lines carry the hub's metrics in Embedded Metric Format, which the INFREQUENT_ACCESS class does not extract (nor metric filters); INFREQUENT_ACCESS halves the ingestion price and loses those metrics and the alarms on them."
  type        = string
  default     = "STANDARD"

  validation {
    condition     = contains(["STANDARD", "INFREQUENT_ACCESS"], var.log_group_class)
    error_message = "log_group_class must be STANDARD or INFREQUENT_ACCESS."
  }
}

# ---------------------------------------------------------------------------------------------
# Queue
# ---------------------------------------------------------------------------------------------

variable "queue_visibility_timeout" {
  description = "Visibility timeout (s) of the main queue. The processor's timeout must not exceed it."
  type        = number
  default     = 60

  validation {
    condition     = var.queue_visibility_timeout >= 1 && var.queue_visibility_timeout <= 43200
    error_message = "queue_visibility_timeout must be between 1 and 43200 (12 h)."
  }
}

variable "queue_message_retention_seconds" {
  description = "Retention of the main queue (the DLQ keeps 14 days, the maximum, which must stay longer)."
  type        = number
  default     = 345600

  validation {
    condition     = var.queue_message_retention_seconds >= 60 && var.queue_message_retention_seconds < 1209600
    error_message = "queue_message_retention_seconds must be at least 60 and less than the DLQ's 1209600 (14 days): dead-lettered messages keep their original enqueue time."
  }
}

variable "max_receive_count" {
  description = "Attempts per message before it is dead-lettered (redrive maxReceiveCount; the processor's MAX_ATTEMPTS)."
  type        = number
  default     = 3
}

variable "dlq_oldest_message_age_threshold_seconds" {
  description = "Alarm when the DLQ's oldest message is older than this (s): a dead-lettered message keeps its original enqueue time and is dropped 14 days after it, so the default (11 days) leaves 3 days to redrive or export it."
  type        = number
  default     = 950400

  validation {
    condition     = var.dlq_oldest_message_age_threshold_seconds >= 60 && var.dlq_oldest_message_age_threshold_seconds < 1209600
    error_message = "dlq_oldest_message_age_threshold_seconds must be at least 60 and below the DLQ's 14-day (1209600 s) retention, or the alarm comes after the messages are gone."
  }
}

# ---------------------------------------------------------------------------------------------
# Storage
# ---------------------------------------------------------------------------------------------

variable "deletion_protection" {
  description = "DynamoDB deletion protection on both tables. Set false (and apply) before terraform destroy."
  type        = bool
  default     = true
}

# ---------------------------------------------------------------------------------------------
# Functions
# ---------------------------------------------------------------------------------------------

variable "ingest_zip_path" {
  description = "Deployment zip of the ingest function. Empty: build/ingest.zip at the repository root (make build)."
  type        = string
  default     = ""
}

variable "processor_zip_path" {
  description = "Deployment zip of the processor function. Empty: build/processor.zip at the repository root (make build)."
  type        = string
  default     = ""
}

variable "ingest_memory_size" {
  description = "Memory (MB) of the ingest function."
  type        = number
  default     = 128
}

variable "ingest_timeout" {
  description = "Timeout (s) of the ingest function (API Gateway HTTP APIs give up after 30 s)."
  type        = number
  default     = 10

  validation {
    condition     = var.ingest_timeout >= 1 && var.ingest_timeout <= 30
    error_message = "ingest_timeout must be between 1 and 30 seconds (the HTTP API's integration limit)."
  }
}

variable "ingest_reserved_concurrency" {
  description = "Reserved concurrency of the ingest function; -1 (default) leaves it in the account's pool. With create_function_url it is the only cap on the intake (no stage throttle): Lambda answers 429 above it, and the providers retry."
  type        = number
  default     = -1

  validation {
    condition     = var.ingest_reserved_concurrency >= -1
    error_message = "ingest_reserved_concurrency must be -1 (unreserved) or at least 0."
  }
}

variable "processor_memory_size" {
  description = "Memory (MB) of the processor function."
  type        = number
  default     = 256
}

variable "processor_timeout" {
  description = "Timeout (s) of the processor function. Lambda refuses an SQS mapping whose function timeout exceeds the queue's visibility timeout."
  type        = number
  default     = 30

  validation {
    condition     = var.processor_timeout >= 1 && var.processor_timeout <= var.queue_visibility_timeout
    error_message = "processor_timeout must be between 1 and queue_visibility_timeout (60 s by default): Lambda refuses an SQS event source whose visibility timeout is less than the function timeout."
  }
}

variable "processor_reserved_concurrency" {
  description = "Reserved concurrency of the processor. null (default): equal to maximum_concurrency, as AWS advises when both are set, so that other functions exhausting the account's pool cannot throttle the processor (a throttled receive still spends one of the 3 attempts)."
  type        = number
  default     = null

  validation {
    condition     = var.processor_reserved_concurrency == null || try(var.processor_reserved_concurrency >= var.maximum_concurrency, false)
    error_message = "processor_reserved_concurrency must be null or at least maximum_concurrency: below it the mapping's pollers receive messages for invocations Lambda then throttles, and each throttled receive spends an attempt."
  }
}

variable "job_timeout_seconds" {
  description = "Deadline (s) of one message inside a processor invocation (JOB_TIMEOUT_SECONDS). Must leave room within processor_timeout."
  type        = number
  default     = 20

  validation {
    condition     = var.job_timeout_seconds >= 1 && var.job_timeout_seconds < var.processor_timeout
    error_message = "job_timeout_seconds must be at least 1 and less than processor_timeout."
  }
}

variable "backoff_seconds" {
  description = "Delays (s) before retries 2, 3, ... applied with ChangeMessageVisibility (BACKOFF_SECONDS)."
  type        = list(number)
  default     = [10, 30, 60]

  validation {
    condition     = length(var.backoff_seconds) > 0 && alltrue([for s in var.backoff_seconds : s >= 0 && s <= 43200])
    error_message = "backoff_seconds must be a non-empty list of delays between 0 and 43200 s."
  }
}

variable "stripe_webhook_secret_param" {
  description = "Name of the SSM SecureString parameter holding Stripe's webhook signing secret (whsec_...). Terraform never holds the value."
  type        = string
  default     = "/payments-hub/stripe-webhook-secret"
}

variable "monetbil_service_secret_param" {
  description = "Name of the SSM SecureString parameter holding the Monetbil service secret. Terraform never holds the value."
  type        = string
  default     = "/payments-hub/monetbil-service-secret"
}

variable "ssm_kms_key_arn" {
  description = "ARN of the KMS key that encrypts the two SecureString parameters. Empty: the AWS-managed aws/ssm key."
  type        = string
  default     = ""
}

variable "monetbil_api_url" {
  description = "Base URL of Monetbil's API (MONETBIL_API_URL)."
  type        = string
  default     = "https://api.monetbil.com"
}

variable "monetbil_allow_testmode" {
  description = "Accept Monetbil notifications flagged as test mode (MONETBIL_ALLOW_TESTMODE). Keep false in production."
  type        = bool
  default     = false
}

variable "stripe_mode" {
  description = "STRIPE_MODE of the processor: live or test. An event whose livemode is the other mode is recorded, never applied."
  type        = string
  default     = "live"

  validation {
    condition     = contains(["live", "test"], var.stripe_mode)
    error_message = "stripe_mode must be live or test."
  }
}

variable "require_expected_transactions" {
  description = "REQUIRE_EXPECTED_TRANSACTIONS of the processor: when true, events for transactions the hub was not told to expect are recorded as unknown_transaction and create nothing."
  type        = bool
  default     = false
}

# ---------------------------------------------------------------------------------------------
# Automatic redrive (the redriver function and its schedule)
# ---------------------------------------------------------------------------------------------

variable "auto_redrive_seconds" {
  description = "AUTO_REDRIVE_SECONDS: how long a transient failure waits in the DLQ before each automatic round of max_receive_count more attempts (default 5 min, 30 min, 2 h: three rounds). Permanent failures and forgotten events are never redriven. Empty: no automatic redrive, and neither the redriver function nor its schedule is created."
  type        = list(number)
  default     = [300, 1800, 7200]

  validation {
    # A delay at or past the DLQ's 14-day retention would never come: SQS drops the message first.
    condition     = alltrue([for s in var.auto_redrive_seconds : s >= 1 && s < 1209600 && floor(s) == s])
    error_message = "auto_redrive_seconds must be whole numbers of seconds from 1 to below 1209600 (the DLQ's 14-day retention)."
  }
}

variable "redrive_schedule" {
  description = "EventBridge Scheduler expression of the redriver's passes: rate(N minute|minutes|hour|hours|day|days) or cron(...). A round runs at most one interval after it is due."
  type        = string
  default     = "rate(1 minute)"

  validation {
    condition     = can(regex("^(rate\\(1 (minute|hour|day)\\)|rate\\(([2-9]|[1-9][0-9]+) (minutes|hours|days)\\)|cron\\([^)]+\\))$", var.redrive_schedule))
    error_message = "redrive_schedule must be rate(1 minute|hour|day), rate(N minutes|hours|days) with N of 2 or more, or cron(...)."
  }
}

variable "redriver_timeout" {
  description = "Timeout (s) of one redriver pass. null (default): 120 s, cut to three quarters of the schedule's interval when that is shorter (45 s at rate(1 minute); a cron schedule counts as 1 minute, its finest step), so that a pass ends before the next one starts; a pass leaves what it had no time for to the next."
  type        = number
  default     = null

  validation {
    condition     = var.redriver_timeout == null || try(var.redriver_timeout >= 1 && var.redriver_timeout <= min(900, local.redrive_interval_seconds * 3 / 4), false)
    error_message = "redriver_timeout must be null or between 1 s and three quarters of redrive_schedule's interval (45 s at rate(1 minute)), and at most 900 s (Lambda's limit): a pass must end well before the next tick."
  }
}

variable "redriver_zip_path" {
  description = "Deployment zip of the redriver function. Empty: build/redriver.zip at the repository root (make build)."
  type        = string
  default     = ""
}

# ---------------------------------------------------------------------------------------------
# Event source mapping
# ---------------------------------------------------------------------------------------------

variable "batch_size" {
  description = "Records per processor invocation."
  type        = number
  default     = 10

  validation {
    condition     = var.batch_size >= 1 && var.batch_size <= 10000
    error_message = "batch_size must be between 1 and 10000."
  }
}

variable "maximum_batching_window_in_seconds" {
  description = "How long Lambda may wait to fill a batch. Under load batches fill at once and it costs nothing; at a trickle, 10 s makes batches of several messages (a quarter of the invocations and deletes at 0.4 webhooks/s) for at most 10 s more latency."
  type        = number
  default     = 10

  validation {
    condition     = var.maximum_batching_window_in_seconds >= 0 && var.maximum_batching_window_in_seconds <= 300
    error_message = "maximum_batching_window_in_seconds must be between 0 and 300."
  }

  # The pollers hold a received message while the window fills, then the invocation runs:
  # both inside the visibility timeout, or the message reappears while it is being processed.
  validation {
    condition     = var.processor_timeout + var.maximum_batching_window_in_seconds <= var.queue_visibility_timeout
    error_message = "processor_timeout + maximum_batching_window_in_seconds must not exceed queue_visibility_timeout: a message is received when the window opens and must stay hidden until its invocation ends."
  }
}

variable "batch_concurrency" {
  description = "Records of one batch processed at once (BATCH_CONCURRENCY, at most 100). null (default): batch_size (up to 100), so that no record waits for a slot past the invocation's deadline."
  type        = number
  default     = null

  validation {
    condition     = var.batch_concurrency == null || try(var.batch_concurrency >= 1 && var.batch_concurrency <= min(var.batch_size, 100), false)
    error_message = "batch_concurrency must be null or between 1 and batch_size, and at most 100 (the processor refuses more)."
  }
}

variable "maximum_concurrency" {
  description = "Most concurrent processor invocations the SQS mapping may run (the counterpart of Supervisor's numprocs). 40 drains about 1,600 webhooks/s at 250 ms per batch of 10: 1.6 x the API's rate limit (terraform/README.md, Scale)."
  type        = number
  default     = 40

  validation {
    condition     = var.maximum_concurrency >= 2 && var.maximum_concurrency <= 1000
    error_message = "maximum_concurrency must be between 2 and 1000 (Lambda's limits)."
  }
}

# ---------------------------------------------------------------------------------------------
# API
# ---------------------------------------------------------------------------------------------

variable "create_http_api" {
  description = "Create the API Gateway HTTP API (webhook endpoints). Only for LocalStack's community image, which has no API Gateway v2, set false; the functions are then invoked directly."
  type        = bool
  default     = true
}

variable "api_throttling_burst_limit" {
  description = "Burst limit (token bucket size) of the API's $default stage."
  type        = number
  default     = 2000
}

variable "api_throttling_rate_limit" {
  description = "Steady-state requests per second of the API's $default stage: 500 webhooks/s sustained with bursts of 1,000/s accepted for as long as they last (the account's regional limit is 10,000/s)."
  type        = number
  default     = 1000
}

variable "api_access_log" {
  description = "Write the HTTP API's access log. Off by default: the ingest logs every request it serves and API Gateway's metrics count what it answers itself (429, 404); about $0.21 per million webhooks when on."
  type        = bool
  default     = false
}

variable "create_function_url" {
  description = "Also create a Lambda function URL for the ingest, the cheaper front door ($1.00 per million less): no stage throttle (set ingest_reserved_concurrency), no access log. API Gateway stays the default and the URL the outputs name."
  type        = bool
  default     = false
}

# ---------------------------------------------------------------------------------------------
# Operators
# ---------------------------------------------------------------------------------------------

variable "create_operator_policy" {
  description = "Create the managed policy <prefix>-operator (terraform output operator_policy_json) for on-call engineers' roles."
  type        = bool
  default     = false
}

variable "operator_principal_arns" {
  description = "IAM role ARNs of the operators who redrive the DLQ: besides the ingest function, the only principals the main queue's policy lets send (a message move task sends with its starter's permissions)."
  type        = list(string)
  default     = []
}

# ---------------------------------------------------------------------------------------------
# Monitoring
# ---------------------------------------------------------------------------------------------

variable "alarm_email" {
  description = "E-mail address subscribed to the alarm topic (confirm the subscription mail). Empty: no subscription."
  type        = string
  default     = ""
}

variable "webhook_rejections_alarm_threshold" {
  description = "Alarm when one provider's rejected webhooks (bad signature, stale, malformed) exceed this in 5 minutes: a wrong or rotated secret rejects every webhook."
  type        = number
  default     = 10
}

variable "oldest_message_age_threshold_seconds" {
  description = "Alarm when the main queue's oldest message is older than this (s)."
  type        = number
  default     = 300
}
