# state stack (amazon): what Tarmak's state stack created.
# * a customer-managed KMS key (rotation on) and its alias,
# * an encrypted, versioned bucket for secrets and backups (+ an access-log bucket),
# * a DynamoDB table for cluster-level locks (backup/maintenance coordination; Terraform's own
#   lock table is made before any stack by apron.cluster.state_backend),
# * the persistent EBS data volumes of the stateful instances (etcd, vault): one per instance
#   `<pool>-<index>`, in the instance's zone, encrypted with the KMS key, prevent_destroy.
#   The vault and kubernetes stacks attach them (outputs state.volumes).
#   They are built from var.apron_instance_pools entries with role etcd or vault.

data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}
data "aws_region" "current" {}

locals {
  environment    = var.apron_environment.name
  cluster        = var.apron_cluster.name
  project        = try(var.apron_environment.project, "apron")
  name           = "${local.project}-${local.environment}-${local.cluster}"
  stateful_roles = ["etcd", "vault"]
  account_id     = data.aws_caller_identity.current.account_id
  partition      = data.aws_partition.current.partition

  # instance name -> data volume
  volumes = merge([
    for pool_name, pool in var.apron_instance_pools : {
      for index in range(pool.count) : "${pool_name}-${index}" => {
        pool  = pool_name
        role  = pool.role
        index = index
        zone  = pool.zones[index % length(pool.zones)]
        size  = try(one([for v in pool.volumes : v.size_gib if v.name == "data"]), 5)
        type  = try(one([for v in pool.volumes : v.volume_type if v.name == "data"]), "gp3")
      }
    } if contains(local.stateful_roles, pool.role)
  ]...)
}

data "aws_iam_policy_document" "kms" {
  # checkov:skip=CKV_AWS_109: the key policy must delegate key administration to the account (IAM), as AWS's default key policy does
  # checkov:skip=CKV_AWS_111: the key policy must delegate key usage to the account (IAM), as AWS's default key policy does
  # checkov:skip=CKV_AWS_356: a key policy's resource is always the key itself ("*")
  statement {
    sid       = "AccountAdministers"
    actions   = ["kms:*"]
    resources = ["*"]
    principals {
      type        = "AWS"
      identifiers = ["arn:${local.partition}:iam::${local.account_id}:root"]
    }
  }
  statement {
    sid       = "LogDelivery"
    actions   = ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey"]
    resources = ["*"]
    principals {
      type        = "Service"
      identifiers = ["delivery.logs.amazonaws.com", "logs.${data.aws_region.current.name}.amazonaws.com"]
    }
  }
}

resource "aws_kms_key" "state" {
  description             = "apron ${local.environment}/${local.cluster}: secrets, backups, data volumes, vault auto-unseal"
  enable_key_rotation     = true
  deletion_window_in_days = 30
  policy                  = data.aws_iam_policy_document.kms.json
}

resource "aws_kms_alias" "state" {
  name          = "alias/${local.name}"
  target_key_id = aws_kms_key.state.key_id
}

# ------------------------------------------------------------------ access logs
resource "aws_s3_bucket" "logs" {
  # checkov:skip=CKV_AWS_18: this is the access-log target bucket; logging it into itself would loop
  # checkov:skip=CKV_AWS_144: cross-region replication of access logs is a per-organisation choice, not a cluster default
  # checkov:skip=CKV2_AWS_62: nothing consumes events of the log bucket
  bucket        = "${local.name}-logs"
  force_destroy = false
}

resource "aws_s3_bucket_ownership_controls" "logs" {
  bucket = aws_s3_bucket.logs.id
  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_public_access_block" "logs" {
  bucket                  = aws_s3_bucket.logs.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_versioning" "logs" {
  bucket = aws_s3_bucket.logs.id
  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "logs" {
  bucket = aws_s3_bucket.logs.id
  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm     = "aws:kms"
      kms_master_key_id = aws_kms_key.state.arn
    }
    bucket_key_enabled = true
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "logs" {
  bucket = aws_s3_bucket.logs.id
  rule {
    id     = "expire-logs"
    status = "Enabled"
    filter {}
    expiration {
      days = 365
    }
    noncurrent_version_expiration {
      noncurrent_days = 30
    }
    abort_incomplete_multipart_upload {
      days_after_initiation = 7
    }
  }
}

# ------------------------------------------------------------------ secrets and backups
resource "aws_s3_bucket" "data" {
  # checkov:skip=CKV_AWS_144: backups stay in the cluster's region unless the operator adds replication (data residency)
  # checkov:skip=CKV2_AWS_62: nothing consumes object events of the secrets/backup bucket
  bucket        = "${local.name}-data"
  force_destroy = false
}

resource "aws_s3_bucket_ownership_controls" "data" {
  bucket = aws_s3_bucket.data.id
  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_public_access_block" "data" {
  bucket                  = aws_s3_bucket.data.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_versioning" "data" {
  bucket = aws_s3_bucket.data.id
  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "data" {
  bucket = aws_s3_bucket.data.id
  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm     = "aws:kms"
      kms_master_key_id = aws_kms_key.state.arn
    }
    bucket_key_enabled = true
  }
}

resource "aws_s3_bucket_logging" "data" {
  bucket        = aws_s3_bucket.data.id
  target_bucket = aws_s3_bucket.logs.id
  target_prefix = "data/"
}

resource "aws_s3_bucket_lifecycle_configuration" "data" {
  bucket = aws_s3_bucket.data.id
  rule {
    id     = "old-versions"
    status = "Enabled"
    filter {}
    noncurrent_version_expiration {
      noncurrent_days = 90
    }
    abort_incomplete_multipart_upload {
      days_after_initiation = 7
    }
  }
}

data "aws_iam_policy_document" "tls_only" {
  for_each = { data = aws_s3_bucket.data.arn, logs = aws_s3_bucket.logs.arn }
  statement {
    sid       = "DenyInsecureTransport"
    effect    = "Deny"
    actions   = ["s3:*"]
    resources = [each.value, "${each.value}/*"]
    principals {
      type        = "*"
      identifiers = ["*"]
    }
    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }
}

resource "aws_s3_bucket_policy" "data" {
  bucket = aws_s3_bucket.data.id
  policy = data.aws_iam_policy_document.tls_only["data"].json
}

resource "aws_s3_bucket_policy" "logs" {
  bucket = aws_s3_bucket.logs.id
  policy = data.aws_iam_policy_document.tls_only["logs"].json
}

# ------------------------------------------------------------------ cluster locks
resource "aws_dynamodb_table" "locks" {
  name         = "${local.name}-locks"
  billing_mode = "PAY_PER_REQUEST"
  hash_key     = "LockID"

  attribute {
    name = "LockID"
    type = "S"
  }

  point_in_time_recovery {
    enabled = true
  }

  server_side_encryption {
    enabled     = true
    kms_key_arn = aws_kms_key.state.arn
  }

  deletion_protection_enabled = true
}

# ------------------------------------------------------------------ persistent data volumes
resource "aws_ebs_volume" "data" {
  for_each          = local.volumes
  availability_zone = each.value.zone
  size              = each.value.size
  type              = each.value.type
  encrypted         = true
  kms_key_id        = aws_kms_key.state.arn

  tags = {
    Name                   = "${each.key}-data"
    "apron.io/environment" = local.environment
    "apron.io/cluster"     = local.cluster
    "apron.io/pool"        = each.value.pool
    "apron.io/role"        = each.value.role
    "apron.io/instance"    = each.key
  }

  lifecycle {
    prevent_destroy = true
  }
}

output "state" {
  description = "Where state and stateful data live: buckets, KMS key, lock table and the data volume of each stateful instance."
  value = {
    backend            = try(var.apron_remote_state.backend, "s3")
    environment        = local.environment
    cluster            = local.cluster
    bucket             = aws_s3_bucket.data.id
    bucket_arn         = aws_s3_bucket.data.arn
    log_bucket         = aws_s3_bucket.logs.id
    log_bucket_arn     = aws_s3_bucket.logs.arn
    kms_key            = aws_kms_key.state.arn
    kms_key_alias      = aws_kms_alias.state.name
    lock_table         = aws_dynamodb_table.locks.name
    data_volume_format = "<instance>-data"
    stateful_roles     = local.stateful_roles
    volumes = {
      for name, volume in aws_ebs_volume.data : name => {
        id   = volume.id
        zone = volume.availability_zone
        size = volume.size
        pool = local.volumes[name].pool
        role = local.volumes[name].role
      }
    }
  }
}
