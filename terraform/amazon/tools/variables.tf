# The stack variables of docs/architecture.md ("Stack variables"), identical in every stack of
# both providers; built by plugins/module_utils/_stack_vars.py and validated upstream by the model.

variable "apron_provider" {
  type        = any
  description = "{name, type, regions, profile, role_arn, key_name, admin_cidrs, endpoint_url}: the resolved Provider spec (type-specific settings flattened)."
}

variable "apron_environment" {
  type        = any
  description = "{name, project, contact, mode, hub, private_zone, admin_users, ...}: the resolved Environment spec."
}

variable "apron_cluster" {
  type        = any
  description = "{name, type, kubernetes_version, network: {vpc_cidr, zones, ...}, api_server, features}: the resolved Cluster spec."
}

variable "apron_instance_pools" {
  type        = any
  description = "Pool name -> resolved InstancePool spec, only the pools this stack creates."
}

variable "apron_remote_state" {
  type        = any
  description = "{backend: local|s3, stacks: {<earlier stack>: <terraform_remote_state config>}}."
}

variable "apron_ssh_public_keys" {
  type        = any
  description = "Admin public keys installed for the admin user on every instance."
}
