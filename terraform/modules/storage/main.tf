# DynamoDB tables: idempotency/event records and transaction state.

# One item per provider event (key: the provider's event id, never the SQS MessageId),
# with an expiry so that old idempotency records go away.
resource "aws_dynamodb_table" "events" {
  name                        = "${var.name_prefix}-events"
  billing_mode                = "PAY_PER_REQUEST"
  hash_key                    = "pk"
  deletion_protection_enabled = var.deletion_protection

  attribute {
    name = "pk"
    type = "S"
  }

  ttl {
    attribute_name = var.ttl_attribute
    enabled        = true
  }

  point_in_time_recovery {
    enabled = var.point_in_time_recovery
  }

  server_side_encryption {
    enabled = var.server_side_encryption
  }

  tags = var.tags
}

# One item per payment. TTL is on too: harmless while no item carries the attribute, and it
# lets a retention policy be added later without a table change.
resource "aws_dynamodb_table" "transactions" {
  name                        = "${var.name_prefix}-transactions"
  billing_mode                = "PAY_PER_REQUEST"
  hash_key                    = "transaction_id"
  deletion_protection_enabled = var.deletion_protection

  attribute {
    name = "transaction_id"
    type = "S"
  }

  dynamic "attribute" {
    for_each = var.payment_intent_index != "" ? [1] : []
    content {
      name = "stripe_payment_intent"
      type = "S"
    }
  }

  # The processor finds the transaction of a Stripe object that carries only its payment
  # intent (a charge, a refund) here. Keys only: the processor reads the transaction by its
  # key afterwards, and a KEYS_ONLY index is written only when the attribute is first set or
  # changes, not on every update of the transaction. On demand, like the table.
  dynamic "global_secondary_index" {
    for_each = var.payment_intent_index != "" ? [1] : []
    content {
      name            = var.payment_intent_index
      hash_key        = "stripe_payment_intent"
      projection_type = "KEYS_ONLY"
    }
  }

  ttl {
    attribute_name = var.ttl_attribute
    enabled        = true
  }

  point_in_time_recovery {
    enabled = var.point_in_time_recovery
  }

  server_side_encryption {
    enabled = var.server_side_encryption
  }

  tags = var.tags
}
