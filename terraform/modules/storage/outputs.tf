output "events_table_name" {
  description = "Name of the events table."
  value       = aws_dynamodb_table.events.name
}

output "events_table_arn" {
  description = "ARN of the events table."
  value       = aws_dynamodb_table.events.arn
}

output "transactions_table_name" {
  description = "Name of the transactions table."
  value       = aws_dynamodb_table.transactions.name
}

output "transactions_table_arn" {
  description = "ARN of the transactions table."
  value       = aws_dynamodb_table.transactions.arn
}

output "settings" {
  description = "The tables' settings that the tests check."
  value = {
    for k, t in {
      events       = aws_dynamodb_table.events
      transactions = aws_dynamodb_table.transactions
      } : k => {
      billing_mode           = t.billing_mode
      hash_key               = t.hash_key
      deletion_protection    = t.deletion_protection_enabled
      point_in_time_recovery = try(t.point_in_time_recovery[0].enabled, false)
      server_side_encryption = try(t.server_side_encryption[0].enabled, false)
      ttl_enabled            = one([for x in t.ttl : x.enabled])
      ttl_attribute          = one([for x in t.ttl : x.attribute_name])
      indexes = { for i in t.global_secondary_index : i.name => {
        hash_key        = i.hash_key
        projection_type = i.projection_type
      } }
    }
  }
}
