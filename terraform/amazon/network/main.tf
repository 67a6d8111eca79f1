# network stack (amazon): the cluster VPC, or an existing VPC when
# apron_cluster.network.existing_vpc is set (then only data sources are read and no VPC,
# subnet, gateway or route is created); public and private subnets per zone, internet
# gateway, a NAT gateway per zone, route tables, VPC flow logs into the state stack's log
# bucket, the default security group locked down, and the private Route53 zone.

data "terraform_remote_state" "state" {
  backend = var.apron_remote_state.backend
  config  = var.apron_remote_state.stacks["state"]
}

locals {
  environment  = var.apron_environment.name
  cluster      = var.apron_cluster.name
  network      = var.apron_cluster.network
  existing     = try(local.network.existing_vpc, null)
  create       = local.existing == null
  zones        = { for zone in local.network.zones : zone.name => zone }
  private_zone = "${local.cluster}.${try(var.apron_environment.private_zone, "${local.environment}.apron.internal")}"
  state        = data.terraform_remote_state.state.outputs.state
}

# ------------------------------------------------------------------ existing VPC
data "aws_vpc" "existing" {
  count = local.create ? 0 : 1
  id    = local.existing.vpc_id
}

data "aws_subnet" "existing_private" {
  for_each = local.create ? {} : local.existing.private_subnet_ids
  id       = each.value
}

data "aws_subnet" "existing_public" {
  for_each = local.create ? {} : try(local.existing.public_subnet_ids, {})
  id       = each.value
}

# ------------------------------------------------------------------ own VPC
resource "aws_vpc" "main" {
  count                = local.create ? 1 : 0
  cidr_block           = local.network.vpc_cidr
  enable_dns_support   = true
  enable_dns_hostnames = true
  tags = {
    Name = "${local.environment}-${local.cluster}"
  }
}

resource "aws_default_security_group" "main" {
  count  = local.create ? 1 : 0
  vpc_id = aws_vpc.main[0].id
  # no ingress and no egress rules: nothing may use the default group
  tags = {
    Name = "${local.environment}-${local.cluster}-default-deny"
  }
}

resource "aws_flow_log" "main" {
  count                = local.create ? 1 : 0
  vpc_id               = aws_vpc.main[0].id
  traffic_type         = "ALL"
  log_destination_type = "s3"
  log_destination      = "${local.state.log_bucket_arn}/flow-logs/"
}

resource "aws_internet_gateway" "main" {
  count  = local.create ? 1 : 0
  vpc_id = aws_vpc.main[0].id
}

resource "aws_subnet" "public" {
  for_each          = local.create ? local.zones : {}
  vpc_id            = aws_vpc.main[0].id
  cidr_block        = each.value.public_cidr
  availability_zone = each.key
  # instances in public subnets get addresses only explicitly (EIPs)
  map_public_ip_on_launch = false
  tags = {
    Name                     = "${local.cluster}-public-${each.key}"
    "kubernetes.io/role/elb" = "1"
  }
}

resource "aws_subnet" "private" {
  for_each          = local.create ? local.zones : {}
  vpc_id            = aws_vpc.main[0].id
  cidr_block        = each.value.private_cidr
  availability_zone = each.key
  tags = {
    Name                              = "${local.cluster}-private-${each.key}"
    "kubernetes.io/role/internal-elb" = "1"
  }
}

resource "aws_eip" "nat" {
  # checkov:skip=CKV2_AWS_19: these EIPs belong to the NAT gateways, not to instances
  for_each   = local.create ? local.zones : {}
  domain     = "vpc"
  depends_on = [aws_internet_gateway.main]
  tags = {
    Name = "${local.cluster}-nat-${each.key}"
  }
}

resource "aws_nat_gateway" "main" {
  for_each      = local.create ? local.zones : {}
  allocation_id = aws_eip.nat[each.key].id
  subnet_id     = aws_subnet.public[each.key].id
  tags = {
    Name = "${local.cluster}-nat-${each.key}"
  }
}

resource "aws_route_table" "public" {
  count  = local.create ? 1 : 0
  vpc_id = aws_vpc.main[0].id
  tags = {
    Name = "${local.cluster}-public"
  }
}

resource "aws_route" "public_internet" {
  count                  = local.create ? 1 : 0
  route_table_id         = aws_route_table.public[0].id
  destination_cidr_block = "0.0.0.0/0"
  gateway_id             = aws_internet_gateway.main[0].id
}

resource "aws_route_table_association" "public" {
  for_each       = local.create ? local.zones : {}
  subnet_id      = aws_subnet.public[each.key].id
  route_table_id = aws_route_table.public[0].id
}

resource "aws_route_table" "private" {
  for_each = local.create ? local.zones : {}
  vpc_id   = aws_vpc.main[0].id
  tags = {
    Name = "${local.cluster}-private-${each.key}"
  }
}

resource "aws_route" "private_nat" {
  for_each               = local.create ? local.zones : {}
  route_table_id         = aws_route_table.private[each.key].id
  destination_cidr_block = "0.0.0.0/0"
  nat_gateway_id         = aws_nat_gateway.main[each.key].id
}

resource "aws_route_table_association" "private" {
  for_each       = local.create ? local.zones : {}
  subnet_id      = aws_subnet.private[each.key].id
  route_table_id = aws_route_table.private[each.key].id
}

# ------------------------------------------------------------------ DNS
resource "aws_route53_zone" "private" {
  # checkov:skip=CKV2_AWS_38: DNSSEC signing is not available for private hosted zones
  # checkov:skip=CKV2_AWS_39: query logging to CloudWatch is not available for private hosted zones (use Resolver query logging)
  name    = local.private_zone
  comment = "apron ${local.environment}/${local.cluster}"
  vpc {
    vpc_id = local.create ? aws_vpc.main[0].id : data.aws_vpc.existing[0].id
  }
}

locals {
  vpc_id   = local.create ? aws_vpc.main[0].id : data.aws_vpc.existing[0].id
  vpc_cidr = local.create ? aws_vpc.main[0].cidr_block : data.aws_vpc.existing[0].cidr_block
  subnets = {
    for name, zone in local.zones : name => {
      private = local.create ? aws_subnet.private[name].id : data.aws_subnet.existing_private[name].id
      public  = local.create ? aws_subnet.public[name].id : try(data.aws_subnet.existing_public[name].id, null)
      private_cidr = (local.create ? aws_subnet.private[name].cidr_block
      : data.aws_subnet.existing_private[name].cidr_block)
    }
  }
}

output "network" {
  description = "{vpc_id, network_name, cidr, zones, subnets: {zone: {private, public, private_cidr}}, private_zone, private_zone_id, existing}."
  value = {
    vpc_id          = local.vpc_id
    network_name    = "${local.environment}-${local.cluster}"
    cidr            = local.vpc_cidr
    zones           = keys(local.zones)
    subnets         = local.subnets
    private_zone    = aws_route53_zone.private.name
    private_zone_id = aws_route53_zone.private.zone_id
    existing        = !local.create
  }
}
