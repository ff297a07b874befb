# Apply the whole stack to LocalStack instead of AWS:
#
#   terraform workspace select -or-create localstack   # keep LocalStack's state apart from AWS's
#   terraform apply -var-file=localstack.tfvars
#
# Every AWS service this configuration uses is then called at localstack_endpoint with the
# access keys "test"; no credentials, STS or instance metadata are needed, and no tflocal.

localstack_endpoint = "http://localhost:4566"
region              = "us-east-1"
name_prefix         = "payments-hub-local"

# Nothing here is worth protecting; lets `terraform destroy` work in one step.
deletion_protection = false

# LocalStack creates no AWS-managed aws/ssm key up front, so the data source lookup would fail:
# name a key instead (LocalStack's community image does not enforce IAM anyway).
ssm_kms_key_arn = "arn:aws:kms:us-east-1:000000000000:key/00000000-0000-0000-0000-000000000000"

# API Gateway v2 (HTTP APIs) is not in LocalStack's community image (localstack/localstack:4.14.0).
# With a LOCALSTACK_AUTH_TOKEN and a newer image that has it, set this to true to get the webhook
# routes; without it, invoke the ingest function directly (aws lambda invoke).
create_http_api = false

log_level          = "debug"
log_retention_days = 1
