# tools stack (local provider): the bastion pool(s): the only instances publishing SSH (127.0.0.1:<sshPort>).
# Reads the network stack through terraform_remote_state.
locals {
  roles = ["bastion"]
}

data "terraform_remote_state" "network" {
  backend = var.apron_remote_state.backend
  config  = var.apron_remote_state.stacks["network"]
}

module "instances" {
  source            = "../modules/instances"
  environment       = var.apron_environment.name
  cluster           = var.apron_cluster.name
  stack             = "tools"
  pools             = { for name, pool in var.apron_instance_pools : name => pool if contains(local.roles, pool.role) }
  provider_settings = try(var.apron_provider.local, var.apron_provider)
  ssh_public_keys   = tolist(var.apron_ssh_public_keys)
  network           = try(data.terraform_remote_state.network.outputs.network, null)
}

output "instances" {
  description = "Instance name -> {name, environment, cluster, pool, role, zone, index, private_address, public_address, ssh_host, ssh_port}."
  value       = module.instances.instances
}

# The amazon stack's other outputs, with the same keys: what has no local counterpart is null.
output "bastion" {
  description = "{security_group_id, ssh_host, ssh_port}: where SSH into the environment starts (local: the published loopback port)."
  value = {
    security_group_id = null
    ssh_host          = try([for i in module.instances.instances : i.ssh_host if i.ssh_host != null][0], null)
    ssh_port          = try([for i in module.instances.instances : i.ssh_port if i.ssh_port != null][0], null)
  }
}
