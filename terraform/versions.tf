terraform {
  # 1.9: validations that refer to other variables (processor_timeout against
  # queue_visibility_timeout, ...) are only allowed from 1.9 on.
  required_version = ">= 1.9"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 5.100"
    }
  }
}
