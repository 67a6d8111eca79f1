# Copyright (c) apron.cluster contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0
"""Discovery backend ``aws_ec2``: one paginated ``DescribeInstances`` per region, filtered server
side on the tag ``apron.io/environment`` (the model's amazon environments) and on the instance
state. No per-instance API call. Controller only.

Tags read: ``apron.io/environment``, ``apron.io/cluster``, ``apron.io/pool``, ``apron.io/role``,
``apron.io/index`` (optional) and ``Name`` (``<pool>-<index>`` gives the index when the index tag
is absent).
"""
from __future__ import annotations

from ansible_collections.apron.cluster.plugins.module_utils import _aws
from ansible_collections.apron.cluster.plugins.plugin_utils._discovery import (
    Discovery,
    DiscoveryError,
    index_from_name,
    record,
)

TAG_PREFIX = "apron.io/"
MAX_PAGE_SIZE = 1000


# The AWS access layer (module_utils/_aws.py) caches sessions for the life of the controller process
# (refresh_inventory, several sources): botocore's service models (the EC2 one is large) load once.
_CLIENTS = {}


def _client(session, region, endpoint_url):
    """A paginating EC2 client (botocore's standard retry mode, 8 attempts), one per session/region/endpoint."""
    key = (id(session), region, endpoint_url)
    client = _CLIENTS.get(key)
    if client is None or _CLIENTS.get((key, "session")) is not session:
        client = _aws.make_client(session, "ec2", region=region, endpoint_url=endpoint_url, retries=8,
                                  botocore_retries=True, user_agent="apron.cluster-instance_pools")
        _CLIENTS[key] = client
        _CLIENTS[(key, "session")] = session
    return client


def model_regions(model):
    """The regions of the model's amazon providers (each provider's list, in order, no duplicates)."""
    regions = []
    for env in model.environments.values():
        provider = model.provider_of(env)
        if provider is None or provider.effective.get("type") != "amazon":
            continue
        for region in (provider.effective.get("amazon") or {}).get("regions") or []:
            if region not in regions:
                regions.append(region)
    return regions


def model_environments(model):
    """Names of the environments whose provider is of type amazon."""
    names = []
    for name, env in sorted(model.environments.items()):
        provider = model.provider_of(env)
        if provider is not None and provider.effective.get("type") == "amazon":
            names.append(name)
    return names


def model_amazon_setting(model, key):
    """The first non-empty ``Provider.spec.amazon.<key>`` of the model's amazon providers."""
    for env in model.environments.values():
        provider = model.provider_of(env)
        if provider is not None and provider.effective.get("type") == "amazon":
            value = (provider.effective.get("amazon") or {}).get(key)
            if value:
                return value
    return None


def instance_record(instance, region):
    """A DescribeInstances ``Instance`` -> an instance record."""
    tags = {}
    for tag in instance.get("Tags") or ():
        tags[tag.get("Key")] = tag.get("Value")
    pool = tags.get(TAG_PREFIX + "pool")
    index = tags.get(TAG_PREFIX + "index")
    if index is None:
        index = index_from_name(tags.get("Name"), pool)
    launch = instance.get("LaunchTime")
    return record(
        name=tags.get("Name"),
        environment=tags.get(TAG_PREFIX + "environment"),
        cluster=tags.get(TAG_PREFIX + "cluster"),
        pool=pool,
        role=tags.get(TAG_PREFIX + "role"),
        zone=(instance.get("Placement") or {}).get("AvailabilityZone"),
        index=index,
        private_address=instance.get("PrivateIpAddress"),
        public_address=instance.get("PublicIpAddress"),
        instance_id=instance.get("InstanceId"),
        region=region,
        launch_time=launch.isoformat() if hasattr(launch, "isoformat") else launch,
        source="ec2:%s/%s" % (region, instance.get("InstanceId")),
    )


def discover(model, regions=None, endpoint_url=None, profile=None, states=("running",), page_size=MAX_PAGE_SIZE,
             session=None):
    """Describe the model's instances in every region; one paginated call per region."""
    if not _aws.HAS_BOTO3:
        raise DiscoveryError("the aws_ec2 backend requires boto3 and botocore")
    environments = model_environments(model)
    regions = list(regions or model_regions(model))
    profile = profile or model_amazon_setting(model, "profile")
    endpoint_url = endpoint_url or model_amazon_setting(model, "endpointURL")
    query = {"backend": "aws_ec2", "regions": regions, "environments": environments,
             "states": list(states), "endpoint_url": endpoint_url}
    if not environments:
        return Discovery("aws_ec2", [], ["the model has no environment with an amazon provider: nothing to describe"],
                         [], {"calls": 0, "pages": 0}, query)
    if not regions:
        raise DiscoveryError("no region to query: set the inventory option regions or "
                             "Provider.spec.amazon.regions in the model")
    page_size = max(5, min(int(page_size or MAX_PAGE_SIZE), MAX_PAGE_SIZE))
    try:
        if session is None:
            session = _aws.make_session(profile=profile)
    except _aws.AwsError as exc:
        raise DiscoveryError(exc.msg)
    filters = [{"Name": "tag:" + TAG_PREFIX + "environment", "Values": environments}]
    if states:
        filters.append({"Name": "instance-state-name", "Values": list(states)})
    found = []
    pages = 0
    for region in regions:
        try:
            paginator = _client(session, region, endpoint_url).get_paginator("describe_instances")
            for page in paginator.paginate(Filters=filters, PaginationConfig={"PageSize": page_size}):
                pages += 1
                for reservation in page.get("Reservations") or ():
                    for instance in reservation.get("Instances") or ():
                        found.append(instance_record(instance, region))
        except _aws.AwsError as exc:
            raise DiscoveryError("DescribeInstances in %s failed: %s" % (region, exc.msg))
        except (_aws.ClientError, _aws.BotoCoreError) as exc:
            error = _aws.translate(exc)
            if error.code:
                raise DiscoveryError("DescribeInstances in %s failed: %s: %s" % (
                    region, error.code, (exc.response.get("Error") or {}).get("Message")))
            raise DiscoveryError("DescribeInstances in %s failed: %s" % (region, exc))
    return Discovery("aws_ec2", found, [], [], {"calls": pages, "pages": pages, "regions": len(regions)}, query)
