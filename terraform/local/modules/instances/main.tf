# Instances of the local provider: one systemd container per instance on the cluster's podman
# network, with a static address computed here (so plans are deterministic), and the stateful
# `<instance>-data` podman volume for etcd and vault instances.
#
# Address plan inside each zone's subnet (host numbers): every role owns a block, pools of the
# same role get consecutive fixed-size sub-blocks in name order, and instance i of a pool lands in
# zone i % zones at slot i / zones. Scaling a pool therefore never moves another instance.
#
# What replaces a container (triggers_replace): everything that shapes it — image, network,
# address, zone, published port, volumes, identity labels, admin user and keys. Everything else
# (pool labels, taints, size, volumes sizes, ...) is recorded in `input` and is an in-place update
# that touches no container (these settings are applied by Ansible roles, not by Terraform).
terraform {
  required_version = ">= 1.5"
}

locals {
  script_dir = "${path.module}/../../scripts"

  role_layout = {
    bastion = { base = 10, stride = 5, size = 15 }    # host numbers 10-24
    vault   = { base = 25, stride = 5, size = 25 }    # 25-49
    etcd    = { base = 50, stride = 10, size = 50 }   # 50-99
    master  = { base = 100, stride = 10, size = 50 }  # 100-149
    worker  = { base = 150, stride = 25, size = 100 } # 150-249
  }
  # Stateful roles get the `<instance>-data` volume mounted here (output as `data_mount`: the
  # roles' data directories default to it). Not /var/lib/etcd: Debian's etcd-server package makes
  # that directory 0700 for its own service, which would lock the root-owned volume out of etcd.
  data_mounts = {
    etcd  = "/var/lib/apron/etcd"
    vault = "/var/lib/apron/vault"
  }
  # Kubernetes nodes run containerd, whose containers need a privileged host container on this
  # machine kind (unprivileged, every mount is refused; docs/local-provider.md).
  privileged_roles = ["master", "worker"]

  # null when the network stack has no output (not applied yet, or already destroyed): destroying
  # the instances still works then; creating them fails with a precondition naming the cause.
  network_name = try(var.network.network_name, null)
  subnets      = try(var.network.subnets, {})
  zones        = try(var.network.zones, [])

  image    = try(coalesce(var.provider_settings.image), "localhost/apron-debian:bookworm")
  ssh_user = try(coalesce(var.provider_settings.ssh_user), "apron")
  ssh_port = tonumber(try(coalesce(var.provider_settings.ssh_port), 2222))
  ssh_keys = [for key in var.ssh_public_keys : trimspace(key) if trimspace(key) != ""]
  # The instances' host keys are recorded next to the admin key (the inventory's default
  # known_hosts for the local provider is <repo>/.apron/ssh/known_hosts, the same file by default).
  known_hosts = try("${dirname(pathexpand(var.provider_settings.ssh_key_path))}/known_hosts", "")

  pools = {
    for name, pool in var.pools : name => {
      name   = name
      role   = pool.role
      count  = try(coalesce(try(pool.count, null), try(pool.min_count, null)), 1)
      zones  = coalescelist(try(coalescelist(pool.zones), []), local.zones, ["(no network)"])
      labels = try(pool.labels, null)
      taints = try(pool.taints, null)
      size   = try(pool.size, null)
      # The model resolves a local pool's image from Provider.spec.local.image; a pool may override it.
      image = try(coalesce(pool.image), local.image)
    }
  }
  pools_by_role = {
    for role in distinct([for pool in local.pools : pool.role]) :
    role => sort([for name, pool in local.pools : name if pool.role == role])
  }

  instances = merge([
    for name, pool in local.pools : {
      for i in range(pool.count) : "${name}-${i}" => {
        name        = "${name}-${i}"
        pool        = name
        role        = pool.role
        index       = i
        zone        = pool.zones[i % length(pool.zones)]
        slot        = floor(i / length(pool.zones))
        rank        = index(local.pools_by_role[pool.role], name)
        stride      = try(local.role_layout[pool.role].stride, 0)
        block_size  = try(local.role_layout[pool.role].size, 0)
        host_number = try(local.role_layout[pool.role].base, 0) + index(local.pools_by_role[pool.role], name) * try(local.role_layout[pool.role].stride, 0) + floor(i / length(pool.zones))
        address = try(cidrhost(
          local.subnets[pool.zones[i % length(pool.zones)]],
          try(local.role_layout[pool.role].base, 0) + index(local.pools_by_role[pool.role], name) * try(local.role_layout[pool.role].stride, 0) + floor(i / length(pool.zones))
        ), null)
        ssh_port    = pool.role == "bastion" ? local.ssh_port + index(local.pools_by_role[pool.role], name) * 5 + i : null
        data_volume = contains(keys(local.data_mounts), pool.role) ? "${name}-${i}-data" : null
        data_mount  = lookup(local.data_mounts, pool.role, null)
        privileged  = contains(local.privileged_roles, pool.role)
        labels      = pool.labels
        taints      = pool.taints
        size        = pool.size
        image       = pool.image
      }
    }
  ]...)
}

resource "terraform_data" "data_volume" {
  for_each = { for name, inst in local.instances : name => inst if inst.data_volume != null }

  triggers_replace = [each.value.data_volume, var.cluster]
  input = {
    stateful    = true
    name        = each.value.data_volume
    instance    = each.key
    environment = var.environment
    cluster     = var.cluster
  }

  provisioner "local-exec" {
    command = "${local.script_dir}/podman-volume.sh create"
    environment = {
      APRON_VOLUME      = self.input.name
      APRON_INSTANCE    = self.input.instance
      APRON_ENVIRONMENT = self.input.environment
      APRON_CLUSTER     = self.input.cluster
    }
  }

  provisioner "local-exec" {
    when    = destroy
    command = "${path.module}/../../scripts/podman-volume.sh destroy"
    environment = {
      APRON_VOLUME  = self.input.name
      APRON_CLUSTER = self.input.cluster
    }
  }
}

resource "terraform_data" "instance" {
  for_each = local.instances

  # Everything that shapes the container: a change replaces it (data volumes survive).
  triggers_replace = merge({
    image       = each.value.image
    network     = local.network_name
    address     = each.value.address
    environment = var.environment
    cluster     = var.cluster
    pool        = each.value.pool
    role        = each.value.role
    zone        = each.value.zone
    index       = each.value.index
    ssh_port    = each.value.ssh_port
    volumes     = each.value.data_volume == null ? "" : "${each.value.data_volume}:${each.value.data_mount}"
    ssh_user    = local.ssh_user
    ssh_keys    = join("\n", local.ssh_keys)
    # Only where true: adding the key to every instance would replace the containers of the other roles.
  }, each.value.privileged ? { privileged = true } : {})

  input = {
    name            = each.key
    stack           = var.stack
    image           = each.value.image
    network         = local.network_name
    private_address = each.value.address
    environment     = var.environment
    cluster         = var.cluster
    pool            = each.value.pool
    role            = each.value.role
    zone            = each.value.zone
    index           = each.value.index
    ssh_port        = each.value.ssh_port
    volumes         = each.value.data_volume == null ? "" : "${each.value.data_volume}:${each.value.data_mount}"
    privileged      = each.value.privileged
    ssh_user        = local.ssh_user
    ssh_keys        = join("\n", local.ssh_keys)
    known_hosts     = local.known_hosts
    # Recorded only (in-place update, no container change): applied later by Ansible roles.
    labels = each.value.labels
    taints = each.value.taints
    size   = each.value.size
  }

  depends_on = [terraform_data.data_volume]

  lifecycle {
    precondition {
      condition     = local.network_name != null
      error_message = "The network stack has no `network` output: apply the network stack of cluster ${var.cluster} first."
    }
    precondition {
      condition     = contains(keys(local.role_layout), each.value.role)
      error_message = "Pool ${each.value.pool}: role '${each.value.role}' cannot be created by the local provider (expected one of ${join(", ", keys(local.role_layout))})."
    }
    precondition {
      condition     = each.value.slot < each.value.stride && (each.value.rank + 1) * each.value.stride <= each.value.block_size
      error_message = "Pool ${each.value.pool}: the local address plan allows at most ${each.value.stride} instances of a pool per zone and ${floor(each.value.block_size / max(each.value.stride, 1))} pools of role ${each.value.role} (instance ${each.key} would be number ${each.value.slot + 1} in zone ${each.value.zone})."
    }
    precondition {
      condition     = each.value.address != null
      error_message = "Pool ${each.value.pool}: no address for ${each.key}: zone '${each.value.zone}' is not a zone of the cluster network (${join(", ", keys(local.subnets))}) or its subnet is smaller than a /24."
    }
    precondition {
      condition     = length(local.ssh_keys) > 0
      error_message = "apron_ssh_public_keys is empty: every instance needs the admin public key (Provider.spec.local.sshKeyPath + .pub)."
    }
  }

  provisioner "local-exec" {
    command = "${local.script_dir}/podman-instance.sh create"
    environment = {
      APRON_NAME        = self.input.name
      APRON_STACK       = self.input.stack
      APRON_IMAGE       = self.input.image
      APRON_NETWORK     = self.input.network
      APRON_ADDRESS     = self.input.private_address
      APRON_ENVIRONMENT = self.input.environment
      APRON_CLUSTER     = self.input.cluster
      APRON_POOL        = self.input.pool
      APRON_ROLE        = self.input.role
      APRON_ZONE        = self.input.zone
      APRON_INDEX       = tostring(self.input.index)
      APRON_SSH_PORT    = self.input.ssh_port == null ? "" : tostring(self.input.ssh_port)
      APRON_VOLUMES     = self.input.volumes
      APRON_PRIVILEGED  = self.input.privileged ? "true" : ""
      APRON_SSH_USER    = self.input.ssh_user
      APRON_SSH_KEYS    = self.input.ssh_keys
      APRON_KNOWN_HOSTS = self.input.known_hosts
      APRON_SPEC        = substr(sha256(jsonencode(self.triggers_replace)), 0, 16)
    }
  }

  provisioner "local-exec" {
    when    = destroy
    command = "${path.module}/../../scripts/podman-instance.sh destroy"
    environment = {
      APRON_NAME        = self.input.name
      APRON_CLUSTER     = self.input.cluster
      APRON_ADDRESS     = self.input.private_address
      APRON_SSH_PORT    = self.input.ssh_port == null ? "" : tostring(self.input.ssh_port)
      APRON_KNOWN_HOSTS = self.input.known_hosts
    }
  }
}
