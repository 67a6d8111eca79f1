# vault stack (amazon): the vault instances, each attached to its persistent data volume
# from the state stack (state.volumes["<pool>-<index>"]), with an instance profile allowed
# to use the state stack's KMS key (vault's awskms auto-unseal seal). SSH only from the
# bastion; the vault API (8200) from inside the VPC, cluster port (8201) between vault hosts.

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

resource "aws_security_group" "vault" {
  name        = "${local.environment}-${local.cluster}-vault"
  description = "apron vault: API from the VPC, cluster port between vault hosts, SSH from the bastion"
  vpc_id      = local.network.vpc_id

  egress {
    # checkov:skip=CKV_AWS_382: vault reaches KMS, S3 and package mirrors through the NAT gateway
    description = "anywhere (KMS, S3, package mirrors)"
    from_port   = 0
    to_port     = 0
    protocol    = "-1"
    cidr_blocks = ["0.0.0.0/0"]
  }
}

resource "aws_vpc_security_group_ingress_rule" "vault_ssh" {
  # checkov:skip=CKV_AWS_24: false positive - the source is the bastion's security group, not a CIDR
  security_group_id            = aws_security_group.vault.id
  description                  = "SSH from the bastion"
  ip_protocol                  = "tcp"
  from_port                    = 22
  to_port                      = 22
  referenced_security_group_id = local.bastion_sg
}

resource "aws_vpc_security_group_ingress_rule" "vault_api" {
  security_group_id = aws_security_group.vault.id
  description       = "vault API from the VPC"
  ip_protocol       = "tcp"
  from_port         = 8200
  to_port           = 8200
  cidr_ipv4         = local.network.cidr
}

resource "aws_vpc_security_group_ingress_rule" "vault_cluster" {
  security_group_id            = aws_security_group.vault.id
  description                  = "vault cluster port between vault hosts"
  ip_protocol                  = "tcp"
  from_port                    = 8201
  to_port                      = 8201
  referenced_security_group_id = aws_security_group.vault.id
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

data "aws_iam_policy_document" "vault" {
  statement {
    sid       = "AutoUnseal"
    actions   = ["kms:Encrypt", "kms:Decrypt", "kms:DescribeKey"]
    resources = [local.state.kms_key]
  }
  statement {
    sid       = "Backups"
    actions   = ["s3:GetObject", "s3:PutObject", "s3:ListBucket"]
    resources = [local.state.bucket_arn, "${local.state.bucket_arn}/vault/*"]
  }
}

resource "aws_iam_role" "vault" {
  name               = "${local.environment}-${local.cluster}-vault"
  assume_role_policy = data.aws_iam_policy_document.assume_ec2.json
}

resource "aws_iam_role_policy" "vault" {
  name   = "vault-auto-unseal"
  role   = aws_iam_role.vault.id
  policy = data.aws_iam_policy_document.vault.json
}

resource "aws_iam_instance_profile" "vault" {
  name = "${local.environment}-${local.cluster}-vault"
  role = aws_iam_role.vault.name
}

resource "aws_instance" "vault" {
  for_each               = local.instances
  ami                    = startswith(each.value.image, "ami-") ? each.value.image : data.aws_ami.debian.id
  instance_type          = each.value.instance_type
  availability_zone      = each.value.zone
  subnet_id              = local.network.subnets[each.value.zone].private
  vpc_security_group_ids = [aws_security_group.vault.id]
  iam_instance_profile   = aws_iam_instance_profile.vault.name
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

resource "aws_volume_attachment" "vault_data" {
  for_each    = local.instances
  device_name = "/dev/xvdd"
  volume_id   = local.state.volumes[each.key].id
  instance_id = aws_instance.vault[each.key].id
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
      private_address = aws_instance.vault[name].private_ip
      public_address  = null
      ssh_host        = null
      ssh_port        = null
    }
  }
}

output "vault" {
  description = "{security_group_id, kms_key, instance_role}."
  value = {
    security_group_id = aws_security_group.vault.id
    kms_key           = local.state.kms_key
    instance_role     = aws_iam_role.vault.name
  }
}
