# vault stack (local provider): the vault pool(s): hosts for the vault role (the Vault binary is installed later by Ansible), each with its <instance>-data volume.
# Reads the network stack through terraform_remote_state.
locals {
  roles = ["vault"]
}

data "terraform_remote_state" "network" {
  backend = var.apron_remote_state.backend
  config  = var.apron_remote_state.stacks["network"]
}

module "instances" {
  source            = "../modules/instances"
  environment       = var.apron_environment.name
  cluster           = var.apron_cluster.name
  stack             = "vault"
  pools             = { for name, pool in var.apron_instance_pools : name => pool if contains(local.roles, pool.role) }
  provider_settings = try(var.apron_provider.local, var.apron_provider)
  ssh_public_keys   = tolist(var.apron_ssh_public_keys)
  network           = try(data.terraform_remote_state.network.outputs.network, null)
}

output "instances" {
  description = "Instance name -> {name, environment, cluster, pool, role, zone, index, private_address, public_address, ssh_host, ssh_port}."
  value       = module.instances.instances
}

# The amazon stack's other output, with the same keys: nothing of it exists locally.
output "vault" {
  description = "{security_group_id, kms_key, instance_role}: all null on the local provider (no security groups, KMS or IAM)."
  value = {
    security_group_id = null
    kms_key           = null
    instance_role     = null
  }
}
