output "instances" {
  description = "Instance name -> {name, environment, cluster, pool, role, zone, index, private_address, public_address, ssh_host, ssh_port, data_mount} (docs/architecture.md)."
  value = {
    for name, res in terraform_data.instance : name => {
      name            = name
      environment     = res.output.environment
      cluster         = res.output.cluster
      pool            = res.output.pool
      role            = res.output.role
      zone            = res.output.zone
      index           = res.output.index
      private_address = res.output.private_address
      public_address  = null
      ssh_host        = res.output.ssh_port == null ? null : "127.0.0.1"
      ssh_port        = res.output.ssh_port
      data_mount      = try(split(":", res.output.volumes)[1], null)
    }
  }
}
