terraform {
  # 1.9+ is needed in practice for the cross-variable validations (processor_timeout against
  # queue_visibility_timeout); 1.7 is the floor for `terraform test` with mock providers.
  required_version = ">= 1.7"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 5.100"
    }
  }
}
