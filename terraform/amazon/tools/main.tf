# tools stack (amazon): the bastion - the only host reachable from outside (SSH on 22, only
# from Provider.spec.amazon.adminCIDRs); everything else is reached through it (ProxyJump).
# One instance per declared bastion instance (count 1), in a public subnet with an EIP,
# IMDSv2 required, root volume encrypted with the state stack's KMS key.

data "terraform_remote_state" "state" {
  backend = var.apron_remote_state.backend
  config  = var.apron_remote_state.stacks["state"]
}

data "terraform_remote_state" "network" {
  backend = var.apron_remote_state.backend
  config  = var.apron_remote_state.stacks["network"]
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
  admin_cidrs = try(var.apron_provider.admin_cidrs, [])

  instances = merge([
    for pool_name, pool in var.apron_instance_pools : {
      for index in range(pool.count) : "${pool_name}-${index}" => {
        pool          = pool_name
        role          = pool.role
        index         = index
        zone          = pool.zones[index % length(pool.zones)]
        instance_type = pool.instance_type
        image         = try(pool.image, "debian-12")
        root_size     = try(one([for v in pool.volumes : v.size_gib if v.name == "root"]), 16)
        root_type     = try(one([for v in pool.volumes : v.volume_type if v.name == "root"]), "gp3")
      }
    }
  ]...)

  user_data = <<-CLOUDINIT
    #cloud-config
    ssh_authorized_keys: ${jsonencode(var.apron_ssh_public_keys)}
  CLOUDINIT
}

resource "aws_security_group" "bastion" {
  name        = "${local.environment}-${local.cluster}-bastion"
  description = "apron bastion: SSH from the admin CIDRs only"
  vpc_id      = local.network.vpc_id

  ingress {
    description = "SSH from the admin CIDRs"
    from_port   = 22
    to_port     = 22
    protocol    = "tcp"
    cidr_blocks = local.admin_cidrs
  }

  egress {
    # checkov:skip=CKV_AWS_382: the bastion must reach every host of the VPC and package mirrors; egress is not narrowed
    description = "anywhere (SSH to cluster hosts, package mirrors)"
    from_port   = 0
    to_port     = 0
    protocol    = "-1"
    cidr_blocks = ["0.0.0.0/0"]
  }
}

data "aws_iam_policy_document" "assume_ec2" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["ec2.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "bastion" {
  name               = "${local.environment}-${local.cluster}-bastion"
  assume_role_policy = data.aws_iam_policy_document.assume_ec2.json
}

resource "aws_iam_instance_profile" "bastion" {
  name = "${local.environment}-${local.cluster}-bastion"
  role = aws_iam_role.bastion.name
}

resource "aws_instance" "bastion" {
  for_each                    = local.instances
  ami                         = startswith(each.value.image, "ami-") ? each.value.image : data.aws_ami.debian.id
  instance_type               = each.value.instance_type
  availability_zone           = each.value.zone
  subnet_id                   = local.network.subnets[each.value.zone].public
  vpc_security_group_ids      = [aws_security_group.bastion.id]
  iam_instance_profile        = aws_iam_instance_profile.bastion.name
  key_name                    = try(var.apron_provider.key_name, null)
  associate_public_ip_address = false
  ebs_optimized               = true
  monitoring                  = true
  user_data                   = local.user_data

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

resource "aws_eip" "bastion" {
  for_each = local.instances
  domain   = "vpc"
  instance = aws_instance.bastion[each.key].id
  tags = {
    Name = each.key
  }
}

output "instances" {
  description = "Instance name -> {name, environment, cluster, pool, role, zone, index, private_address, public_address, ssh_host, ssh_port}."
  value = {
    for name, instance in local.instances : name => {
      name            = name
      environment     = local.environment
      cluster         = local.cluster
      pool            = instance.pool
      role            = instance.role
      zone            = instance.zone
      index           = instance.index
      private_address = aws_instance.bastion[name].private_ip
      public_address  = aws_eip.bastion[name].public_ip
      ssh_host        = aws_eip.bastion[name].public_ip
      ssh_port        = 22
    }
  }
}

output "bastion" {
  description = "{security_group_id}: other stacks allow SSH from this group only."
  value = {
    security_group_id = aws_security_group.bastion.id
  }
}
