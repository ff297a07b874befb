# tflint for terraform/ (make lint). The AWS ruleset (tflint-ruleset-aws) is not served by the
# Go module proxy these machines reach, so only the bundled Terraform ruleset runs, with every
# rule on; add the AWS plugin block here when it can be installed.
config {
  call_module_type = "local"
}

plugin "terraform" {
  enabled = true
  preset  = "all"
}

# Modules pinned by path in this repository carry no version; the AWS provider is pinned in
# versions.tf. Documentation of every variable and output is required by the preset.
