# kubernetes stack (amazon):
# * etcd: fixed instances `<pool>-<index>`, each attached to its persistent data volume from
#   the state stack (state.volumes),
# * master and worker: one launch template + auto scaling group per InstancePool,
# * an IAM role + instance profile per role, a security group per role opening each port
#   only to the roles that need it,
# * the API server network load balancer: internal or internet-facing per
#   apron_cluster.api_server.exposure, reachable only from api_server.allowed_cidrs.
# Every instance carries apron.io/environment|cluster|pool|role (ASG tags propagate at launch).

data "terraform_remote_state" "state" {
  backend = var.apron_remote_state.backend
  config  = var.apron_remote_state.stacks["state"]
}

data "terraform_remote_state" "network" {
  backend = var.apron_remote_state.backend
  config  = var.apron_remote_state.stacks["network"]
}

data "terraform_remote_state" "tools" {
  backend = var.apron_remote_state.backend
  config  = var.apron_remote_state.stacks["tools"]
}

data "aws_ami" "debian" {
  most_recent = true
  owners      = ["136693071363"] # Debian
  filter {
    name   = "name"
    values = ["debian-12-amd64-*"]
  }
  filter {
    name   = "architecture"
    values = ["x86_64"]
  }
}

locals {
  environment = var.apron_environment.name
  cluster     = var.apron_cluster.name
  network     = data.terraform_remote_state.network.outputs.network
  state       = data.terraform_remote_state.state.outputs.state
  bastion_sg  = data.terraform_remote_state.tools.outputs.bastion.security_group_id
  roles       = ["etcd", "master", "worker"]
  public_api  = try(var.apron_cluster.api_server.exposure, "private") == "public"
  api_cidrs   = try(var.apron_cluster.api_server.allowed_cidrs, [local.network.cidr])

  pools = {
    for name, pool in var.apron_instance_pools : name => merge(pool, {
      image     = try(pool.image, "debian-12")
      root_size = try(one([for v in pool.volumes : v.size_gib if v.name == "root"]), 16)
      root_type = try(one([for v in pool.volumes : v.volume_type if v.name == "root"]), "gp3")
    })
  }
  asg_pools = { for name, pool in local.pools : name => pool if pool.role != "etcd" }

  etcd_instances = merge([
    for name, pool in local.pools : {
      for index in range(pool.count) : "${name}-${index}" => {
        pool          = name
        role          = pool.role
        index         = index
        zone          = pool.zones[index % length(pool.zones)]
        instance_type = pool.instance_type
        image         = pool.image
        root_size     = pool.root_size
        root_type     = pool.root_type
      }
    } if pool.role == "etcd"
  ]...)

  user_data = <<-CLOUDINIT
    #cloud-config
    ssh_authorized_keys: ${jsonencode(var.apron_ssh_public_keys)}
  CLOUDINIT

  # port rules: [role, from role, port, protocol, description]
  peer_rules = [
    { to = "etcd", from = "master", port = 2379, proto = "tcp", what = "etcd client (k8s-main) from masters" },
    { to = "etcd", from = "etcd", port = 2379, proto = "tcp", what = "etcd client (k8s-main) between etcd" },
    { to = "etcd", from = "master", port = 2369, proto = "tcp", what = "etcd client (k8s-events) from masters" },
    { to = "etcd", from = "etcd", port = 2369, proto = "tcp", what = "etcd client (k8s-events) between etcd" },
    { to = "etcd", from = "master", port = 2359, proto = "tcp", what = "etcd client (overlay) from masters" },
    { to = "etcd", from = "etcd", port = 2359, proto = "tcp", what = "etcd client (overlay) between etcd" },
    { to = "etcd", from = "etcd", port = 2380, proto = "tcp", what = "etcd peer (k8s-main)" },
    { to = "etcd", from = "etcd", port = 2370, proto = "tcp", what = "etcd peer (k8s-events)" },
    { to = "etcd", from = "etcd", port = 2360, proto = "tcp", what = "etcd peer (overlay)" },
    { to = "master", from = "master", port = 6443, proto = "tcp", what = "API server between masters" },
    { to = "master", from = "worker", port = 6443, proto = "tcp", what = "API server from workers" },
    { to = "master", from = "master", port = 10250, proto = "tcp", what = "kubelet from masters" },
    { to = "worker", from = "master", port = 10250, proto = "tcp", what = "kubelet from masters" },
    { to = "master", from = "worker", port = 4789, proto = "udp", what = "overlay VXLAN" },
    { to = "worker", from = "master", port = 4789, proto = "udp", what = "overlay VXLAN" },
    { to = "worker", from = "worker", port = 4789, proto = "udp", what = "overlay VXLAN" },
    { to = "master", from = "master", port = 4789, proto = "udp", what = "overlay VXLAN" },
  ]
}

# ------------------------------------------------------------------ security groups
resource "aws_security_group" "role" {
  # checkov:skip=CKV2_AWS_5: false positive - master/worker groups are attached through aws_launch_template.pool (indexed by role)
  for_each    = toset(local.roles)
  name        = "${local.environment}-${local.cluster}-${each.key}"
  description = "apron ${each.key}: ports open only to the roles that need them"
  vpc_id      = local.network.vpc_id

  egress {
    # checkov:skip=CKV_AWS_382: nodes pull images and packages through the NAT gateway
    description = "anywhere (images, packages, AWS APIs)"
    from_port   = 0
    to_port     = 0
    protocol    = "-1"
    cidr_blocks = ["0.0.0.0/0"]
  }
}

resource "aws_vpc_security_group_ingress_rule" "ssh" {
  # checkov:skip=CKV_AWS_24: false positive - the source is the bastion's security group, not a CIDR
  for_each                     = toset(local.roles)
  security_group_id            = aws_security_group.role[each.key].id
  description                  = "SSH from the bastion"
  ip_protocol                  = "tcp"
  from_port                    = 22
  to_port                      = 22
  referenced_security_group_id = local.bastion_sg
}

resource "aws_vpc_security_group_ingress_rule" "peer" {
  for_each                     = { for rule in local.peer_rules : "${rule.to}-${rule.from}-${rule.port}-${rule.proto}" => rule }
  security_group_id            = aws_security_group.role[each.value.to].id
  description                  = each.value.what
  ip_protocol                  = each.value.proto
  from_port                    = each.value.port
  to_port                      = each.value.port
  referenced_security_group_id = aws_security_group.role[each.value.from].id
}

resource "aws_security_group" "api_lb" {
  name        = "${local.environment}-${local.cluster}-api"
  description = "apron API load balancer: 6443 from the allowed CIDRs"
  vpc_id      = local.network.vpc_id

  ingress {
    description = "Kubernetes API from the allowed CIDRs"
    from_port   = 6443
    to_port     = 6443
    protocol    = "tcp"
    cidr_blocks = local.api_cidrs
  }

  egress {
    description = "to the API servers"
    from_port   = 6443
    to_port     = 6443
    protocol    = "tcp"
    cidr_blocks = [local.network.cidr]
  }
}

resource "aws_vpc_security_group_ingress_rule" "api_from_lb" {
  security_group_id            = aws_security_group.role["master"].id
  description                  = "API server from the load balancer"
  ip_protocol                  = "tcp"
  from_port                    = 6443
  to_port                      = 6443
  referenced_security_group_id = aws_security_group.api_lb.id
}

# ------------------------------------------------------------------ IAM
data "aws_iam_policy_document" "assume_ec2" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["ec2.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "role" {
  for_each           = toset(local.roles)
  name               = "${local.environment}-${local.cluster}-${each.key}"
  assume_role_policy = data.aws_iam_policy_document.assume_ec2.json
}

data "aws_iam_policy_document" "etcd_backup" {
  statement {
    sid       = "EtcdBackups"
    actions   = ["s3:GetObject", "s3:PutObject", "s3:ListBucket"]
    resources = [local.state.bucket_arn, "${local.state.bucket_arn}/etcd/*"]
  }
  statement {
    sid       = "EncryptBackups"
    actions   = ["kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKey", "kms:DescribeKey"]
    resources = [local.state.kms_key]
  }
}

resource "aws_iam_role_policy" "etcd_backup" {
  name   = "etcd-backup"
  role   = aws_iam_role.role["etcd"].id
  policy = data.aws_iam_policy_document.etcd_backup.json
}

resource "aws_iam_instance_profile" "role" {
  for_each = toset(local.roles)
  name     = "${local.environment}-${local.cluster}-${each.key}"
  role     = aws_iam_role.role[each.key].name
}

# ------------------------------------------------------------------ etcd (fixed instances)
resource "aws_instance" "etcd" {
  for_each               = local.etcd_instances
  ami                    = startswith(each.value.image, "ami-") ? each.value.image : data.aws_ami.debian.id
  instance_type          = each.value.instance_type
  availability_zone      = each.value.zone
  subnet_id              = local.network.subnets[each.value.zone].private
  vpc_security_group_ids = [aws_security_group.role["etcd"].id]
  iam_instance_profile   = aws_iam_instance_profile.role["etcd"].name
  key_name               = try(var.apron_provider.key_name, null)
  ebs_optimized          = true
  monitoring             = true
  user_data              = local.user_data

  metadata_options {
    http_endpoint               = "enabled"
    http_tokens                 = "required"
    http_put_response_hop_limit = 1
  }

  root_block_device {
    volume_size = each.value.root_size
    volume_type = each.value.root_type
    encrypted   = true
    kms_key_id  = local.state.kms_key
  }

  tags = {
    Name                   = each.key
    "apron.io/environment" = local.environment
    "apron.io/cluster"     = local.cluster
    "apron.io/pool"        = each.value.pool
    "apron.io/role"        = each.value.role
  }
}

resource "aws_volume_attachment" "etcd_data" {
  for_each    = local.etcd_instances
  device_name = "/dev/xvdd"
  volume_id   = local.state.volumes[each.key].id
  instance_id = aws_instance.etcd[each.key].id
}

# ------------------------------------------------------------------ master / worker pools
resource "aws_launch_template" "pool" {
  for_each      = local.asg_pools
  name          = "${local.environment}-${each.key}"
  image_id      = startswith(each.value.image, "ami-") ? each.value.image : data.aws_ami.debian.id
  instance_type = each.value.instance_type
  key_name      = try(var.apron_provider.key_name, null)
  ebs_optimized = true
  user_data     = base64encode(local.user_data)

  vpc_security_group_ids = [aws_security_group.role[each.value.role].id]

  iam_instance_profile {
    name = aws_iam_instance_profile.role[each.value.role].name
  }

  metadata_options {
    http_endpoint               = "enabled"
    http_tokens                 = "required"
    http_put_response_hop_limit = 1
  }

  monitoring {
    enabled = true
  }

  block_device_mappings {
    device_name = "/dev/xvda"
    ebs {
      volume_size           = each.value.root_size
      volume_type           = each.value.root_type
      encrypted             = true
      kms_key_id            = local.state.kms_key
      delete_on_termination = true
    }
  }

  dynamic "block_device_mappings" {
    for_each = [for v in each.value.volumes : v if v.name != "root"]
    content {
      device_name = "/dev/xvd${substr("defghijklmnop", block_device_mappings.key, 1)}"
      ebs {
        volume_size           = block_device_mappings.value.size_gib
        volume_type           = try(block_device_mappings.value.volume_type, "gp3")
        encrypted             = true
        kms_key_id            = local.state.kms_key
        delete_on_termination = true
      }
    }
  }

  tag_specifications {
    resource_type = "instance"
    tags = {
      "apron.io/environment" = local.environment
      "apron.io/cluster"     = local.cluster
      "apron.io/pool"        = each.key
      "apron.io/role"        = each.value.role
    }
  }

  tag_specifications {
    resource_type = "volume"
    tags = {
      "apron.io/environment" = local.environment
      "apron.io/cluster"     = local.cluster
      "apron.io/pool"        = each.key
      "apron.io/role"        = each.value.role
    }
  }
}

resource "aws_autoscaling_group" "pool" {
  for_each            = local.asg_pools
  name                = "${local.environment}-${each.key}"
  min_size            = each.value.min_count
  max_size            = each.value.max_count
  desired_capacity    = each.value.count
  vpc_zone_identifier = [for zone in each.value.zones : local.network.subnets[zone].private]
  target_group_arns   = each.value.role == "master" ? [aws_lb_target_group.api.arn] : []
  health_check_type   = "EC2"

  launch_template {
    id      = aws_launch_template.pool[each.key].id
    version = aws_launch_template.pool[each.key].latest_version
  }

  tag {
    key                 = "Name"
    value               = each.key
    propagate_at_launch = true
  }
  tag {
    key                 = "apron.io/environment"
    value               = local.environment
    propagate_at_launch = true
  }
  tag {
    key                 = "apron.io/cluster"
    value               = local.cluster
    propagate_at_launch = true
  }
  tag {
    key                 = "apron.io/pool"
    value               = each.key
    propagate_at_launch = true
  }
  tag {
    key                 = "apron.io/role"
    value               = each.value.role
    propagate_at_launch = true
  }

  lifecycle {
    ignore_changes = [desired_capacity]
  }
}

# ------------------------------------------------------------------ API load balancer
resource "aws_lb" "api" {
  # checkov:skip=CKV_AWS_91: NLB access logs only cover TLS listeners; the API listener is TCP passthrough (TLS ends at the API server)
  # checkov:skip=CKV_AWS_150: deletion protection would block terraform destroy of a cluster; the stack is the source of truth
  # checkov:skip=CKV2_AWS_20: TCP passthrough - the API server terminates TLS, there is no HTTP listener to redirect
  # checkov:skip=CKV2_AWS_28: a WAF cannot be attached to a network load balancer
  name                             = substr("${local.environment}-${local.cluster}-api", 0, 32)
  load_balancer_type               = "network"
  internal                         = !local.public_api
  security_groups                  = [aws_security_group.api_lb.id]
  subnets                          = [for zone in local.network.zones : local.public_api ? local.network.subnets[zone].public : local.network.subnets[zone].private]
  enable_cross_zone_load_balancing = true
}

resource "aws_lb_target_group" "api" {
  name     = substr("${local.environment}-${local.cluster}-api", 0, 32)
  port     = 6443
  protocol = "TCP"
  vpc_id   = local.network.vpc_id

  health_check {
    protocol = "TCP"
    port     = "6443"
  }
}

resource "aws_lb_listener" "api" {
  # checkov:skip=CKV_AWS_2: TCP passthrough - the API server terminates TLS with the cluster CA
  # checkov:skip=CKV_AWS_103: TCP passthrough - TLS policy is the API server's
  load_balancer_arn = aws_lb.api.arn
  port              = 6443
  protocol          = "TCP"

  default_action {
    type             = "forward"
    target_group_arn = aws_lb_target_group.api.arn
  }
}

resource "aws_route53_record" "api" {
  zone_id = local.network.private_zone_id
  name    = "api.${local.network.private_zone}"
  type    = "A"
  alias {
    name                   = aws_lb.api.dns_name
    zone_id                = aws_lb.api.zone_id
    evaluate_target_health = false
  }
}

# ------------------------------------------------------------------ outputs
output "instances" {
  description = "The fixed (etcd) instances: name -> {name, environment, cluster, pool, role, zone, index, private_address, public_address, ssh_host, ssh_port}."
  value = {
    for name, instance in local.etcd_instances : name => {
      name            = name
      environment     = local.environment
      cluster         = local.cluster
      pool            = instance.pool
      role            = instance.role
      zone            = instance.zone
      index           = instance.index
      private_address = aws_instance.etcd[name].private_ip
      public_address  = null
      ssh_host        = null
      ssh_port        = null
    }
  }
}

output "instance_pools" {
  description = "Auto scaling pools (master, worker): pool name -> {name, role, asg_name, launch_template_id, min_count, max_count}."
  value = {
    for name, pool in local.asg_pools : name => {
      name               = name
      role               = pool.role
      asg_name           = aws_autoscaling_group.pool[name].name
      launch_template_id = aws_launch_template.pool[name].id
      min_count          = pool.min_count
      max_count          = pool.max_count
    }
  }
}

output "kubernetes" {
  description = "{api_endpoint, api_dns_name, api_exposure, security_groups: role -> id}."
  value = {
    api_endpoint    = "https://${aws_route53_record.api.fqdn}:6443"
    api_dns_name    = aws_lb.api.dns_name
    api_exposure    = local.public_api ? "public" : "private"
    security_groups = { for role in local.roles : role => aws_security_group.role[role].id }
  }
}
