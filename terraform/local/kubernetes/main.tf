# kubernetes stack (local provider): the etcd, master and worker pools; etcd instances get their <instance>-data volume.
# Reads the network stack through terraform_remote_state.
locals {
  roles = ["etcd", "master", "worker"]
}

data "terraform_remote_state" "network" {
  backend = var.apron_remote_state.backend
  config  = var.apron_remote_state.stacks["network"]
}

module "instances" {
  source            = "../modules/instances"
  environment       = var.apron_environment.name
  cluster           = var.apron_cluster.name
  stack             = "kubernetes"
  pools             = { for name, pool in var.apron_instance_pools : name => pool if contains(local.roles, pool.role) }
  provider_settings = try(var.apron_provider.local, var.apron_provider)
  ssh_public_keys   = tolist(var.apron_ssh_public_keys)
  network           = try(data.terraform_remote_state.network.outputs.network, null)
}

output "instances" {
  description = "Instance name -> {name, environment, cluster, pool, role, zone, index, private_address, public_address, ssh_host, ssh_port}."
  value       = module.instances.instances
}

# The amazon stack's other outputs, with the same keys. Local pools are fixed instances (none
# is an auto scaling group) and there is no load balancer in front of the API servers.
output "instance_pools" {
  description = "Auto scaling pools: pool name -> {name, role, asg_name, launch_template_id, min_count, max_count}; always empty locally."
  value       = {}
}

output "kubernetes" {
  description = "{api_endpoint, api_dns_name, api_exposure, security_groups}: no API load balancer or security groups locally (null / empty)."
  value = {
    api_endpoint    = null
    api_dns_name    = null
    api_exposure    = try(var.apron_cluster.api_server.exposure, "private")
    security_groups = {}
  }
}
