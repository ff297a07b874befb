# IAM built from the committed action sets in iam/*.json, which `make test` holds to every AWS
# call the functions and the operator's hubctl commands make (infra/iamcheck, recorded with the
# iamrecord build tag), and which tests/stack.tftest.hcl holds these policies to. After a
# deliberate change of the code's AWS calls, `make iam-sets` rewrites the sets; review the diff.

locals {
  iam_sets = { for name in ["ingest", "processor", "operator", "redriver"] : name => jsondecode(file("${path.module}/iam/${name}.json")) }

  # The application that creates payments runs hubctl transactions expect with its own role.
  application_grants = jsondecode(file("${path.module}/iam/local.json")).application.grants

  # The resource kinds the recorder names, as ARNs. An index kind is "<table kind>/index/<name>".
  # A kind missing here stops the plan (Invalid index): every grant lands on a known resource.
  iam_resource_arns = {
    "queue"                                       = module.queue.queue_arn
    "dlq"                                         = module.queue.dlq_arn
    "events-table"                                = module.storage.events_table_arn
    "transactions-table"                          = module.storage.transactions_table_arn
    "ssm-parameter:STRIPE_WEBHOOK_SECRET_PARAM"   = local.secret_param_arns[0]
    "ssm-parameter:MONETBIL_SERVICE_SECRET_PARAM" = local.secret_param_arns[1]
    "ssm-kms-key"                                 = local.ssm_kms_key_arn
    # Operations without resource-level permissions (cloudwatch:GetMetricData).
    "*" = "*"
  }

  # The function module grants the log-group entries itself, on the function's own log group.
  iam_grants = merge(
    { for name, set in local.iam_sets : name => [for e in concat(set.recorded, set.handwritten) : e if e.resource != "log-group"] },
    { application = local.application_grants },
  )

  # One statement per resource kind, its actions sorted: a reviewer reads "what on which".
  iam_statements = {
    for name, grants in local.iam_grants : name => [
      for kind in sort(distinct([for g in grants : g.resource])) : {
        sid     = join("", [for w in regexall("[A-Za-z0-9]+", kind) : title(lower(w))])
        actions = sort(distinct([for g in grants : g.action if g.resource == kind]))
        resources = [length(split("/index/", kind)) == 2
          ? "${local.iam_resource_arns[split("/index/", kind)[0]]}/index/${split("/index/", kind)[1]}"
        : local.iam_resource_arns[kind]]
        # SSM decrypts SecureStrings with the caller's permissions: the key only via SSM.
        conditions = kind != "ssm-kms-key" ? [] : [{
          test     = "StringEquals"
          variable = "kms:ViaService"
          values   = ["ssm.${local.region}.amazonaws.com"]
        }]
      }
    ]
  }

  # Policies for principals outside this stack: the on-call engineers' and the application's.
  policy_documents = { for name in ["operator", "application"] : name => jsonencode({
    Version = "2012-10-17"
    Statement = [for st in local.iam_statements[name] : merge(
      { Sid = st.sid, Effect = "Allow", Action = st.actions, Resource = st.resources },
      { for k in(length(st.conditions) > 0 ? ["Condition"] : []) : k => { for c in st.conditions : c.test => { (c.variable) = c.values } } },
    )]
  }) }

  operator_policy_json    = local.policy_documents.operator
  application_policy_json = local.policy_documents.application
}

# What an on-call engineer needs for hubctl status, failed list/retry/moves/forget/flush,
# transactions get and events get: attach it to their role instead of admin access.
resource "aws_iam_policy" "operator" {
  count = var.create_operator_policy ? 1 : 0

  name        = "${var.name_prefix}-operator"
  description = "hubctl against the Payments Hub: status, failed jobs (list, retry, moves, forget, flush), transactions get, events get."
  policy      = local.operator_policy_json
}

# ---------------------------------------------------------------------------------------------
# Queue policies: only the intake, the redriver and the operators send; nothing without TLS.
# ---------------------------------------------------------------------------------------------

locals {
  # Who may send to the main queue: the ingest function, the redriver (its rounds), and the
  # roles allowed to redrive the DLQ (a message move task sends to its destination with the
  # permissions of the principal that started it).
  queue_sender_arns = concat([module.ingest.role_arn], module.redriver[*].role_arn, var.operator_principal_arns)

  deny_insecure_transport = {
    Sid       = "DenyInsecureTransport"
    Effect    = "Deny"
    Principal = "*"
    Action    = "sqs:*"
    Condition = { Bool = { "aws:SecureTransport" = "false" } }
  }
}

resource "aws_sqs_queue_policy" "main" {
  queue_url = module.queue.queue_url

  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      merge(local.deny_insecure_transport, { Resource = module.queue.queue_arn }),
      {
        # A Deny, because an Allow here would add to, not replace, whatever identity policies in
        # the account grant. It leaves alone: calls by AWS service principals (they would also
        # need an Allow in this policy, and there is none) and calls an AWS service makes on a
        # caller's behalf (forward access sessions, such as a message move task), whose caller
        # is checked against this same list.
        Sid       = "OnlyTheHubSends"
        Effect    = "Deny"
        Principal = "*"
        Action    = "sqs:SendMessage"
        Resource  = module.queue.queue_arn
        Condition = {
          ArnNotEquals = { "aws:PrincipalArn" = local.queue_sender_arns }
          BoolIfExists = { "aws:PrincipalIsAWSService" = "false", "aws:ViaAWSService" = "false" }
        }
      },
    ]
  })
}

# ---------------------------------------------------------------------------------------------
# The redriver's schedule: its own role, allowed only to invoke the redriver
# ---------------------------------------------------------------------------------------------

resource "aws_iam_role" "redriver_schedule" {
  count = local.auto_redrive ? 1 : 0

  name = "${var.name_prefix}-redriver-schedule-role"

  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Sid       = "SchedulerAssumeRole"
      Effect    = "Allow"
      Principal = { Service = "scheduler.amazonaws.com" }
      Action    = "sts:AssumeRole"
      # Only schedules of this account (confused deputy): another account's schedule naming
      # this role cannot assume it.
      Condition = { StringEquals = { "aws:SourceAccount" = local.account_id } }
    }]
  })
}

resource "aws_iam_role_policy" "redriver_schedule" {
  count = local.auto_redrive ? 1 : 0

  name = "${var.name_prefix}-redriver-schedule-policy"
  role = aws_iam_role.redriver_schedule[0].id

  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Sid      = "InvokeTheRedriver"
      Effect   = "Allow"
      Action   = ["lambda:InvokeFunction"]
      Resource = [module.redriver[0].function_arn]
    }]
  })
}

resource "aws_sqs_queue_policy" "dlq" {
  queue_url = module.queue.dlq_url

  policy = jsonencode({
    Version   = "2012-10-17"
    Statement = [merge(local.deny_insecure_transport, { Resource = module.queue.dlq_arn })]
  })
}

# ---------------------------------------------------------------------------------------------
# Lambda function URL: the alternative front door (create_function_url)
# ---------------------------------------------------------------------------------------------

# What it gives up against the HTTP API, and how the stack makes up for it:
# - no stage throttle: cap the ingest with ingest_reserved_concurrency instead (Lambda answers
#   429 above it, which the providers retry);
# - no access log, no API Gateway metrics or 5xx alarm: Lambda's Url4xxCount / Url5xxCount and
#   the ingest's own log line remain;
# - any path reaches the function (the intake answers 404 for anything but its two routes), no
#   custom domain or AWS WAF without CloudFront in front; requests up to 6 MB.
# The event is the same payload format 2.0: internal/apigateway routes on rawPath.
resource "aws_lambda_function_url" "ingest" {
  count = var.create_function_url ? 1 : 0

  function_name      = module.ingest.function_name
  authorization_type = "NONE" # webhooks are authenticated by their signatures, in the intake
}

resource "aws_lambda_permission" "function_url_ingest" {
  count = var.create_function_url ? 1 : 0

  statement_id           = "AllowPublicFunctionUrl"
  action                 = "lambda:InvokeFunctionUrl"
  function_name          = module.ingest.function_name
  principal              = "*"
  function_url_auth_type = "NONE"
}

# Function URLs created since October 2025 also need lambda:InvokeFunction. The 5.x provider
# cannot add its lambda:InvokedViaFunctionUrl condition (6.x can): until then any AWS principal
# may invoke the ingest directly, where it still verifies every signature.
resource "aws_lambda_permission" "function_url_invoke_ingest" {
  count = var.create_function_url ? 1 : 0

  statement_id  = "AllowPublicFunctionUrlInvoke"
  action        = "lambda:InvokeFunction"
  function_name = module.ingest.function_name
  principal     = "*"
}
