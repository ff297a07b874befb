# tflint for terraform/ (make lint): the bundled Terraform ruleset with every rule on, and the
# AWS ruleset (tflint-ruleset-aws, pinned and built from the Go module proxy by the Makefile into
# TFLINT_PLUGIN_DIR; no source here, so tflint never downloads it).
config {
  call_module_type = "local"
}

plugin "terraform" {
  enabled = true
  preset  = "all"
}

plugin "aws" {
  enabled = true
}

# Modules pinned by path in this repository carry no version; the AWS provider is pinned in
# versions.tf. Documentation of every variable and output is required by the preset.
