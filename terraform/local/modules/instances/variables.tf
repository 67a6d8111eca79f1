variable "environment" {
  type        = string
  description = "Environment name (label apron.io/environment)."
}

variable "cluster" {
  type        = string
  description = "Cluster name (label apron.io/cluster)."
}

variable "stack" {
  type        = string
  description = "Name of the calling stack (tools, vault or kubernetes)."
}

variable "pools" {
  type        = any
  description = "apron_instance_pools of the calling stack: pool name -> {name, role, count, zones, labels, taints, size, ...}."
}

variable "provider_settings" {
  type        = any
  description = "The local provider settings: {image, ssh_user, ssh_port}."
}

variable "ssh_public_keys" {
  type        = list(string)
  description = "Admin public keys installed for the admin user of every instance."
}

variable "network" {
  type        = any
  description = "The network stack's `network` output: {network_name, cidr, zones, subnets}."
}
