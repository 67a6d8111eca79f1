# network stack (local provider): one podman bridge network per cluster, `apron-<cluster>`,
# with the cluster's vpcCIDR as its subnet. Zones are logical: each zone gets a slice of the
# subnet (its privateCIDR when the model sets one, else a /24-or-larger slice of the VPC), and
# the instance stacks place their static addresses inside the zone's slice.
locals {
  cluster    = var.apron_cluster.name
  name       = "apron-${var.apron_cluster.name}"
  cidr       = var.apron_cluster.network.vpc_cidr
  zone_specs = try(var.apron_cluster.network.zones, [])
  zones      = [for zone in local.zone_specs : zone.name]
  prefix     = tonumber(split("/", local.cidr)[1])
  newbits    = max(24 - local.prefix, ceil(log(max(length(local.zones), 2), 2)))
  subnets = {
    for i, zone in local.zone_specs :
    zone.name => try(coalesce(try(zone.private_cidr, null)), cidrsubnet(local.cidr, local.newbits, i))
  }
}

resource "terraform_data" "network" {
  # The name and subnet shape the network: a change replaces it (the instance stacks must be
  # destroyed first; the destroy script refuses while containers are attached).
  triggers_replace = [local.name, local.cidr, local.cluster]
  input = {
    name        = local.name
    cidr        = local.cidr
    cluster     = local.cluster
    environment = var.apron_environment.name
  }

  lifecycle {
    precondition {
      condition     = length(local.zones) > 0
      error_message = "Cluster ${local.cluster}: network.zones is empty; the local provider needs at least one (logical) zone."
    }
  }

  provisioner "local-exec" {
    command = "${path.module}/../scripts/podman-network.sh create"
    environment = {
      APRON_NETWORK     = self.input.name
      APRON_CIDR        = self.input.cidr
      APRON_CLUSTER     = self.input.cluster
      APRON_ENVIRONMENT = self.input.environment
    }
  }

  provisioner "local-exec" {
    when    = destroy
    command = "${path.module}/../scripts/podman-network.sh destroy"
    environment = {
      APRON_NETWORK = self.input.name
      APRON_CLUSTER = self.input.cluster
    }
  }
}

output "network" {
  description = "{network_name, vpc_id (null), cidr, gateway, zones, subnets} of the cluster network."
  value = {
    network_name = terraform_data.network.output.name
    vpc_id       = null
    cidr         = terraform_data.network.output.cidr
    gateway      = cidrhost(local.cidr, 1)
    zones        = local.zones
    subnets      = local.subnets
  }
}
