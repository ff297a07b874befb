output "queue_url" {
  description = "URL of the applied main queue."
  value       = module.queue.queue_url
}

output "dlq_url" {
  description = "URL of the applied DLQ."
  value       = module.queue.dlq_url
}

output "queue_settings" {
  description = "The queue module's settings, as applied."
  value       = module.queue.settings
}

output "table_settings" {
  description = "The storage module's settings, as applied."
  value       = module.storage.settings
}
