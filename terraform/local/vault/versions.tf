# Provider-free: terraform_data + local-exec (podman) and terraform_remote_state only.
terraform {
  required_version = ">= 1.5"
  # Configured by apron.cluster.terraform_stack: -backend-config=path=<state dir>/<env>/<cluster>/vault/terraform.tfstate
  backend "local" {}
}
