# AWS provider ~> 5; the s3 backend is configured by apron.cluster.terraform_stack
# (-backend-config: bucket, key <environment>/<cluster>/tools/terraform.tfstate, region, dynamodb_table, kms_key_id).
terraform {
  required_version = ">= 1.5"
  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 5.0"
    }
  }
  backend "s3" {}
}

provider "aws" {
  region  = var.apron_provider.regions[0]
  profile = try(var.apron_provider.profile, null)

  dynamic "assume_role" {
    for_each = try(var.apron_provider.role_arn, null) == null ? [] : [var.apron_provider.role_arn]
    content {
      role_arn = assume_role.value
    }
  }

  default_tags {
    tags = {
      "apron.io/environment" = var.apron_environment.name
      "apron.io/cluster"     = var.apron_cluster.name
      "apron.io/stack"       = "tools"
      "apron.io/project"     = try(var.apron_environment.project, "apron")
    }
  }
}
