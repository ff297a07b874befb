# The modules' own guards, run on each module alone with a mocked provider.

mock_provider "aws" {
  mock_data "aws_partition" {
    defaults = {
      partition  = "aws"
      dns_suffix = "amazonaws.com"
    }
  }

  mock_resource "aws_iam_role" {
    defaults = {
      arn = "arn:aws:iam::123456789012:role/mock"
    }
  }

  mock_resource "aws_cloudwatch_log_group" {
    defaults = {
      arn = "arn:aws:logs:us-east-1:123456789012:log-group:mock"
    }
  }
}

run "queue_dlq_retention_must_exceed_source_retention" {
  command = plan

  module {
    source = "./modules/queue"
  }

  variables {
    name_prefix                   = "t"
    message_retention_seconds     = 1209600
    dlq_message_retention_seconds = 1209600
  }

  expect_failures = [var.dlq_message_retention_seconds]
}

run "queue_module_defaults" {
  module {
    source = "./modules/queue"
  }

  variables {
    name_prefix = "t"
  }

  assert {
    condition = (
      output.settings.main.visibility_timeout_seconds == 60 &&
      output.settings.main.redrive_policy.maxReceiveCount == 3 &&
      output.settings.dlq.message_retention_seconds > output.settings.main.message_retention_seconds &&
      output.settings.main.sqs_managed_sse_enabled && output.settings.dlq.sqs_managed_sse_enabled
    )
    error_message = "Queue module defaults changed."
  }
}

run "storage_can_drop_pitr_for_emulators_only_by_choice" {
  module {
    source = "./modules/storage"
  }

  variables {
    name_prefix            = "t"
    point_in_time_recovery = false
  }

  assert {
    condition     = !output.settings.events.point_in_time_recovery && output.settings.events.server_side_encryption && output.settings.events.deletion_protection
    error_message = "Turning PITR off must leave the other defaults alone."
  }
}

run "function_refuses_wildcard_actions" {
  command = plan

  module {
    source = "./modules/function"
  }

  variables {
    name     = "t-fn"
    filename = "tests/fixtures/bootstrap.zip"
    policy_statements = [{
      sid       = "TooBroad"
      actions   = ["sqs:*"]
      resources = ["arn:aws:sqs:us-east-1:123456789012:q"]
    }]
  }

  expect_failures = [var.policy_statements]
}

run "function_policy_has_conditions_only_where_given" {
  module {
    source = "./modules/function"
  }

  variables {
    name     = "t-fn"
    filename = "tests/fixtures/bootstrap.zip"
    policy_statements = [
      {
        sid       = "Plain"
        actions   = ["sqs:SendMessage"]
        resources = ["arn:aws:sqs:us-east-1:123456789012:q"]
      },
      {
        sid       = "WithCondition"
        actions   = ["kms:Decrypt"]
        resources = ["arn:aws:kms:us-east-1:123456789012:key/k"]
        conditions = [
          { test = "StringEquals", variable = "kms:ViaService", values = ["ssm.us-east-1.amazonaws.com"] },
          { test = "StringEquals", variable = "aws:SourceAccount", values = ["123456789012"] },
        ]
      },
    ]
  }

  assert {
    condition     = !contains(keys(jsondecode(output.policy_json).Statement[1]), "Condition")
    error_message = "A statement without conditions must have no Condition key."
  }

  assert {
    condition = jsondecode(output.policy_json).Statement[2].Condition == {
      StringEquals = {
        "kms:ViaService"    = ["ssm.us-east-1.amazonaws.com"]
        "aws:SourceAccount" = ["123456789012"]
      }
    }
    error_message = "Conditions must be grouped by operator."
  }

  assert {
    condition     = jsondecode(output.policy_json).Statement[0].Resource == ["arn:aws:logs:us-east-1:123456789012:log-group:mock:*"]
    error_message = "The logging statement must be scoped to the function's log group."
  }
}
