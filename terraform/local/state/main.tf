# state stack (local provider): Terraform state itself lives in local files (the `local`
# backend, <state dir>/<environment>/<cluster>/<stack>/terraform.tfstate), so there is no
# bucket or key to create. The stateful podman volumes (`<instance>-data` of etcd and vault
# instances) are created by the stacks that own those instances (vault, kubernetes), marked
# `input.stateful = true`, and are kept on destroy unless APRON_REMOVE_DATA_VOLUMES=yes.
locals {
  stateful_roles = ["etcd", "vault"]
}

output "state" {
  description = "Where state and stateful data live for this cluster."
  value = {
    backend            = try(var.apron_remote_state.backend, "local")
    environment        = var.apron_environment.name
    cluster            = var.apron_cluster.name
    bucket             = null
    kms_key            = null
    data_volume_format = "<instance>-data"
    stateful_roles     = local.stateful_roles
  }
}
