locals {
  localstack = var.localstack_endpoint != ""
  # Every service this configuration calls; with localstack_endpoint set they all point at it.
  localstack_url = local.localstack ? var.localstack_endpoint : null
}

provider "aws" {
  region = var.region

  # LocalStack (or any single-endpoint emulator): fixed test credentials, no STS/IMDS calls.
  # On AWS all of these are null/false and the normal credential chain applies.
  access_key                  = local.localstack ? "test" : null
  secret_key                  = local.localstack ? "test" : null
  skip_credentials_validation = local.localstack
  skip_requesting_account_id  = local.localstack
  skip_metadata_api_check     = local.localstack

  endpoints {
    apigatewayv2 = local.localstack_url
    cloudwatch   = local.localstack_url
    dynamodb     = local.localstack_url
    iam          = local.localstack_url
    kms          = local.localstack_url
    lambda       = local.localstack_url
    logs         = local.localstack_url
    scheduler    = local.localstack_url
    sns          = local.localstack_url
    sqs          = local.localstack_url
    ssm          = local.localstack_url
    sts          = local.localstack_url
  }

  default_tags {
    tags = merge({ Project = "payments-hub", ManagedBy = "terraform" }, var.tags)
  }
}
