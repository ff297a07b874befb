# A small root that applies ONLY the queue and storage modules against local servers
# (fauxqs for SQS, DynamoDB Local), used by ../../test.sh. Lambda, API Gateway, IAM and
# CloudWatch need LocalStack or AWS and are covered by the mocked `terraform test` instead.
#
# State goes wherever test.sh points the local backend (a temporary folder):
#   terraform init -backend-config=path=/tmp/x/terraform.tfstate

terraform {
  required_version = ">= 1.9"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 5.100"
    }
  }

  backend "local" {}
}

provider "aws" {
  region                      = "us-east-1"
  access_key                  = "test"
  secret_key                  = "test"
  skip_credentials_validation = true
  skip_requesting_account_id  = true
  skip_metadata_api_check     = true
  skip_region_validation      = true

  endpoints {
    sqs      = var.sqs_endpoint
    dynamodb = var.dynamodb_endpoint
  }
}

module "queue" {
  source = "../../modules/queue"

  name_prefix = var.name_prefix
}

module "storage" {
  source = "../../modules/storage"

  name_prefix            = var.name_prefix
  deletion_protection    = false
  point_in_time_recovery = var.point_in_time_recovery
  server_side_encryption = var.server_side_encryption
  # DynamoDB Local reads a global secondary index back without its name, so the second plan
  # would never be empty; the mocked tests check the index.
  payment_intent_index = ""
}
