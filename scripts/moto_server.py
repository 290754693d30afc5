"""Start moto's standalone server, corrected where it answers unlike AWS.

Each correction makes moto do what AWS documents, so that the tool is tested against AWS's
behaviour and never taught to work around the emulator. They are listed in
docs/emulator-gaps.md. Arguments are moto_server's own (-H HOST -p PORT), or
-H HOST --port-file FILE: listen on a port the system chooses and write it to FILE.
"""

import fnmatch
import os
import sys
import time
import types

import moto.ec2.utils
from moto.rds.exceptions import DBSubnetGroupNotFoundError
from moto.ec2.models.nat_gateways import NatGateway, NatGatewayBackend

_delete_nat_gateway = NatGatewayBackend.delete_nat_gateway


def delete_nat_gateway(self, nat_gateway_id):
    # AWS: deleting a NAT gateway disassociates its Elastic IP, which can then be
    # associated again (by a replacement gateway) or released. moto keeps the association.
    nat = _delete_nat_gateway(self, nat_gateway_id)
    for address in nat.address_set:
        association = address.get("associationId")
        if association and self.address_by_association([association]):
            self.disassociate_address(association_id=association)
    return nat


NatGatewayBackend.delete_nat_gateway = delete_nat_gateway

_nat_gateway_init = NatGateway.__init__


def nat_gateway_init(self, *args, **kwargs):
    # AWS: a NAT gateway's network interface is the service's own: requester-managed,
    # of type nat_gateway, described as such. moto makes a plain interface, which looks
    # like one somebody made by hand in the VPC.
    _nat_gateway_init(self, *args, **kwargs)
    self._eni.requester_managed = True
    self._eni.interface_type = "nat_gateway"
    self._eni.description = f"Interface for NAT Gateway {self.id}"


NatGateway.__init__ = nat_gateway_init


def aws_fnmatch(value, pattern):
    # AWS: in filter values only `*` and `?` are wildcards. moto matches them as shell
    # globs, where `[...]` is a character class, so `tag:bandup:resource` =
    # `public_subnet[eu-west-2a]` matched nothing. Make `[` literal.
    return fnmatch.fnmatch(value, pattern.replace("[", "[[]"))


moto.ec2.utils.fnmatch = types.SimpleNamespace(
    fnmatch=aws_fnmatch, translate=fnmatch.translate
)

# --- Secrets Manager ------------------------------------------------------------------

import moto.secretsmanager.models as _sm
from moto.secretsmanager.exceptions import InvalidRequestException as _SmInvalidRequest

_create_secret = _sm.SecretsManagerBackend.create_secret


def create_secret(self, name, *args, **kwargs):
    # AWS: creating a secret whose name is still scheduled for deletion fails with
    # InvalidRequestException until the secret is restored or its recovery window ends.
    # moto answers ResourceExistsException ("already exists").
    existing = self.secrets.get(name)
    if existing is not None and getattr(existing, "is_deleted", lambda: False)():
        raise _SmInvalidRequest(
            "You can't create this secret because a secret with this name is already "
            "scheduled for deletion."
        )
    return _create_secret(self, name, *args, **kwargs)


_sm.SecretsManagerBackend.create_secret = create_secret


# --- ElastiCache: cache subnet groups ----------------------------------------------------

import moto.elasticache.models as _ec
import moto.elasticache.responses as _ecr
from moto.core.responses import ActionResult as _ActionResult
from moto.core.responses import EmptyResult as _EmptyResult
from moto.elasticache.exceptions import CacheSubnetGroupNotFound as _SubnetGroupNotFound
from moto.elasticache.exceptions import ElastiCacheException as _ElastiCacheError
from moto.elasticache.exceptions import ReplicationGroupNotFound as _GroupNotFound


class _InvalidGroupState(_ElastiCacheError):
    code = "InvalidReplicationGroupState"

    def __init__(self, group_id, status):
        super().__init__(f"Replication group {group_id} is {status}.")


class _CacheSubnetGroupInUse(_ElastiCacheError):
    code = "CacheSubnetGroupInUse"

    def __init__(self, name):
        super().__init__(f"Cache subnet group {name} is currently in use.")


def _cache_subnet_group(self):
    name = self._get_param("CacheSubnetGroupName")
    backend = self.elasticache_backend
    if name not in backend.cache_subnet_groups:
        raise _SubnetGroupNotFound(name)
    return backend, name


def delete_cache_subnet_group(self):
    # AWS: DeleteCacheSubnetGroup removes the group, refused while a cache uses it
    # (CacheSubnetGroupInUse). moto does not implement it and answers HTTP 500.
    backend, name = _cache_subnet_group(self)
    for group in backend.replication_groups.values():
        if group.cache_subnet_group_name == name:
            raise _CacheSubnetGroupInUse(name)
    group = backend.cache_subnet_groups.pop(name)
    backend.tagging_service.delete_all_tags_for_resource(group.arn)
    return _EmptyResult()


def modify_cache_subnet_group(self):
    # AWS: ModifyCacheSubnetGroup changes the description and the subnets in place.
    # moto does not implement it and answers HTTP 500.
    backend, name = _cache_subnet_group(self)
    old = backend.cache_subnet_groups[name]
    description = self._get_param("CacheSubnetGroupDescription")
    subnets = self._get_param("SubnetIds", [])
    new = _ec.CacheSubnetGroup(
        account_id=backend.account_id,
        region_name=backend.region_name,
        cache_subnet_group_name=name,
        cache_subnet_group_description=(
            description if description is not None else old.cache_subnet_group_description
        ),
        subnet_ids=subnets or old.subnet_ids,
        tags=old.tags,
    )
    backend.cache_subnet_groups[name] = new
    return _ActionResult({"CacheSubnetGroup": new})


_ecr.ElastiCacheResponse.delete_cache_subnet_group = delete_cache_subnet_group
_ecr.ElastiCacheResponse.modify_cache_subnet_group = modify_cache_subnet_group


# --- ElastiCache: replication groups ---------------------------------------------------

_create_replication_group = _ec.ElastiCacheBackend.create_replication_group


def _member(backend, group, cluster_id, settings):
    # AWS: every member of a replication group is a cache cluster of its own,
    # described by DescribeCacheClusters with the engine version, subnet group,
    # security groups and maintenance window (DescribeReplicationGroups shows none).
    cluster = _ec.CacheCluster(
        account_id=backend.account_id,
        region_name=backend.region_name,
        cache_cluster_id=cluster_id,
        cache_node_type=group.cache_node_type,
        replication_group_id=group.replication_group_id,
        az_mode=None,
        preferred_availability_zone=None,
        num_cache_nodes=1,
        engine="redis",
        engine_version=settings.get("engine_version"),
        cache_parameter_group_name=None,
        cache_subnet_group_name=settings.get("cache_subnet_group_name"),
        transit_encryption_enabled=group.transit_encryption_enabled,
        network_type=None,
        ip_discovery=None,
        snapshot_name=None,
        preferred_maintenance_window=settings.get("preferred_maintenance_window"),
        port=group.port,
        notification_topic_arn=None,
        auto_minor_version_upgrade=None,
        snapshot_retention_limit=group.snapshot_retention_limit,
        snapshot_window=group.snapshot_window,
        auth_token=None,
        outpost_mode=None,
        preferred_outpost_arn=None,
        preferred_availability_zones=None,
        cache_security_group_names=None,
        security_group_ids=settings.get("security_group_ids") or [],
        tags=None,
        snapshot_arns=None,
        preferred_outpost_arns=None,
        log_delivery_configurations=[],
        cache_node_ids_to_remove=None,
        cache_node_ids_to_reboot=None,
    )
    cluster.security_groups = [
        {"SecurityGroupId": sg, "Status": "active"} for sg in cluster.security_group_ids
    ]
    backend.cache_clusters[cluster_id] = cluster
    return cluster


def _set_members(backend, group, count):
    # Primary `<id>-001` and replicas `<id>-002`...: as many as asked for.
    settings = getattr(group, "_member_settings", {})
    node_group = group.node_groups[0]
    members = node_group["node_group_members"]
    while len(members) > count:
        gone = members.pop()
        group.member_clusters.remove(gone["cache_cluster_id"])
        backend.cache_clusters.pop(gone["cache_cluster_id"], None)
    while len(members) < count:
        cluster_id = f"{group.replication_group_id}-{len(members) + 1:0>3}"
        members.append(
            {
                "cache_cluster_id": cluster_id,
                "cache_node_id": node_group["node_group_id"],
                "current_role": "primary" if not members else "replica",
                "read_endpoint": {"address": f"{cluster_id}.cache.local", "port": group.port},
            }
        )
        group.member_clusters.append(cluster_id)
    for m in members:
        if m["cache_cluster_id"] not in backend.cache_clusters:
            _member(backend, group, m["cache_cluster_id"], settings)


def create_replication_group(self, replication_group_id, *args, **kwargs):
    # AWS: NumCacheClusters is the number of members (primary and replicas); moto
    # makes one member whatever it says, and keeps no member cache clusters.
    group = _create_replication_group(self, replication_group_id, *args, **kwargs)
    group._member_settings = {
        "engine_version": kwargs.get("engine_version") or "7.1",
        "cache_subnet_group_name": kwargs.get("cache_subnet_group_name"),
        "security_group_ids": kwargs.get("security_group_ids") or [],
        "preferred_maintenance_window": kwargs.get("preferred_maintenance_window")
        or "sun:23:00-mon:01:30",
    }
    group.preferred_maintenance_window = group._member_settings[
        "preferred_maintenance_window"
    ]
    if group.cluster_mode != "enabled":
        _set_members(self, group, kwargs.get("num_cache_clusters") or 1)
    # AWS: a new group is `creating` for minutes. Here for one look, so that waiting
    # (and adopting a group found still creating) is exercised at the cost of one poll.
    group.status = "creating"
    group._looks = 1
    return group


_ec.ElastiCacheBackend.create_replication_group = create_replication_group

_describe_replication_groups = _ec.ElastiCacheBackend.describe_replication_groups


def _gone(backend, group):
    backend.replication_groups.pop(group.replication_group_id, None)
    for cluster_id in group.member_clusters:
        backend.cache_clusters.pop(cluster_id, None)
    backend.tagging_service.delete_all_tags_for_resource(group.arn)


def describe_replication_groups(self, replication_group_id=None):
    # A group `creating` or `deleting` shows so for one look, then is `available` or gone.
    shown = []
    for group in _describe_replication_groups(self, replication_group_id):
        if getattr(group, "_looks", 0) > 0:
            group._looks -= 1
        elif group.status == "creating":
            group.status = "available"
        elif group.status == "deleting":
            _gone(self, group)
            continue
        shown.append(group)
    if replication_group_id and not shown:
        raise _GroupNotFound(replication_group_id)
    return shown


_ec.ElastiCacheBackend.describe_replication_groups = describe_replication_groups

_modify_replication_group_response = _ecr.ElastiCacheResponse.modify_replication_group


def modify_replication_group(self):
    # AWS: ModifyReplicationGroup also changes the engine version, security groups,
    # snapshot and maintenance windows of every member; moto ignores these parameters.
    result = _modify_replication_group_response(self)
    backend = self.elasticache_backend
    group = backend.replication_groups[self._get_param("ReplicationGroupId")]
    settings = group._member_settings if hasattr(group, "_member_settings") else {}
    changes = {
        "engine_version": self._get_param("EngineVersion"),
        "security_group_ids": self._get_param("SecurityGroupIds"),
        "preferred_maintenance_window": self._get_param("PreferredMaintenanceWindow"),
    }
    settings.update({k: v for k, v in changes.items() if v is not None})
    group._member_settings = settings
    window = self._get_param("SnapshotWindow")
    if window is not None:
        group.snapshot_window = window
    for cluster_id in group.member_clusters:
        backend.cache_clusters.pop(cluster_id, None)
    _set_members(backend, group, len(group.member_clusters))
    return result


def _replica_count(self, more):
    backend = self.elasticache_backend
    group_id = self._get_param("ReplicationGroupId")
    if group_id not in backend.replication_groups:
        raise _GroupNotFound(group_id)
    group = backend.replication_groups[group_id]
    count = self._get_int_param("NewReplicaCount") + 1
    _set_members(backend, group, count)
    return _ActionResult({"ReplicationGroup": group})


def increase_replica_count(self):
    # AWS: IncreaseReplicaCount adds replicas; moto does not implement it.
    return _replica_count(self, True)


def decrease_replica_count(self):
    # AWS: DecreaseReplicaCount removes replicas; moto does not implement it.
    return _replica_count(self, False)


def delete_replication_group(self):
    # AWS: a deleted replication group (and its member clusters) disappears once the
    # deletion is done, after a final snapshot if FinalSnapshotIdentifier names one.
    # moto keeps it `deleting` forever and takes no snapshot. Here it is `deleting` for
    # one look, then gone. A repeat while it is deleting is refused, as in AWS.
    backend = self.elasticache_backend
    group_id = self._get_param("ReplicationGroupId")
    if group_id not in backend.replication_groups:
        raise _GroupNotFound(group_id)
    final = self._get_param("FinalSnapshotIdentifier")
    if final:
        backend.create_snapshot(
            snapshot_name=final,
            replication_group_id=group_id,
            cache_cluster_id=None,
            kms_key_id=None,
            tags=None,
        )
    group = backend.replication_groups[group_id]
    if group.status == "deleting":
        raise _InvalidGroupState(group_id, group.status)
    group.status = "deleting"
    group._looks = 1
    group._deleting_since = time.monotonic()
    for cluster_id in group.member_clusters:
        if cluster_id in backend.cache_clusters:
            backend.cache_clusters[cluster_id].cache_cluster_status = "deleting"
    return _ActionResult({"ReplicationGroup": group})


_describe_cache_clusters = _ec.ElastiCacheBackend.describe_cache_clusters


def describe_cache_clusters(self, cache_cluster_id=None):
    # AWS: the members of a replication group being deleted are `deleting` and then
    # gone, with the group, whoever looks. Here a group's deletion is over one second
    # after it began for DescribeCacheClusters (one look for DescribeReplicationGroups).
    for group in list(self.replication_groups.values()):
        since = getattr(group, "_deleting_since", None)
        if group.status == "deleting" and since and time.monotonic() - since > 1:
            _gone(self, group)
    return _describe_cache_clusters(self, cache_cluster_id)


_ec.ElastiCacheBackend.describe_cache_clusters = describe_cache_clusters


_ecr.ElastiCacheResponse.modify_replication_group = modify_replication_group
_ecr.ElastiCacheResponse.increase_replica_count = increase_replica_count
_ecr.ElastiCacheResponse.decrease_replica_count = decrease_replica_count
_ecr.ElastiCacheResponse.delete_replication_group = delete_replication_group


from moto.rds.exceptions import DBParameterGroupNotFoundError
from moto.rds.models import RDSBackend
from moto.rds.responses import ActionResult, RDSResponse


def modify_db_subnet_group(self, subnet_name, description, subnets):
    # AWS: ModifyDBSubnetGroup changes the group's subnets and description and keeps it.
    # moto takes the group out of its table and never puts it back, so the group is gone
    # after its first change (DBSubnetGroupNotFoundFault on the next describe or create).
    subnet_group = self.subnet_groups.get(subnet_name)
    if subnet_group is None:
        raise DBSubnetGroupNotFoundError(subnet_name)
    subnet_group.subnets = subnets
    if description is not None:
        subnet_group.description = description
    return subnet_group


RDSBackend.modify_db_subnet_group = modify_db_subnet_group


def reset_db_parameter_group(self):
    # AWS: ResetDBParameterGroup returns the named parameters (or all of them, with
    # ResetAllParameters) to the engine's defaults, so that they are no longer listed by
    # DescribeDBParameters with Source=user. moto does not implement the action
    # ("has not been implemented").
    name = self.params.get("DBParameterGroupName")
    groups = self.backend.db_parameter_groups
    if name not in groups:
        raise DBParameterGroupNotFoundError(name)
    group = groups[name]
    if str(self.params.get("ResetAllParameters")).lower() == "true":
        group.parameters.clear()
    for param in self.params.get("Parameters", []):
        group.parameters.pop(param.original_dict().get("ParameterName"), None)
    return ActionResult({"DBParameterGroupName": group.name})


RDSResponse.reset_db_parameter_group = reset_db_parameter_group


from moto.rds.exceptions import RDSClientError

_delete_subnet_group = RDSBackend.delete_subnet_group
_delete_db_parameter_group = RDSBackend.delete_db_parameter_group


def delete_subnet_group(self, subnet_name):
    # AWS: a DB subnet group cannot be deleted while a DB instance is in it
    # (InvalidDBSubnetGroupStateFault). moto deletes it.
    in_use = (
        getattr(getattr(db, "db_subnet_group", None), "name", "").lower()
        == subnet_name.lower()
        for db in self.databases.values()
    )
    if any(in_use):
        raise RDSClientError(
            "InvalidDBSubnetGroupStateFault",
            f"Cannot delete the subnet group '{subnet_name}' because at least one database instance is still using it.",
        )
    return _delete_subnet_group(self, subnet_name)


def delete_db_parameter_group(self, db_parameter_group_name):
    # AWS: a DB parameter group cannot be deleted while a DB instance uses it
    # (InvalidDBParameterGroupState). moto deletes it.
    if any(
        getattr(db, "db_parameter_group_name", None) == db_parameter_group_name
        for db in self.databases.values()
    ):
        raise RDSClientError(
            "InvalidDBParameterGroupState",
            f"One or more database instances are still members of this parameter group {db_parameter_group_name}, so the group cannot be deleted",
        )
    return _delete_db_parameter_group(self, db_parameter_group_name)


RDSBackend.delete_subnet_group = delete_subnet_group
RDSBackend.delete_db_parameter_group = delete_db_parameter_group
from moto.s3.responses import S3Response


def get_bucket_versioning(self):
    # AWS: GetBucketVersioning answers with the root element `VersioningConfiguration`,
    # holding `Status` only once versioning was ever set. moto answers with
    # `GetBucketVersioningResponse`, which the AWS SDK for Rust refuses to parse
    # ("expected VersioningConfiguration").
    status = self.backend.get_bucket_versioning(self.bucket_name)
    inner = f"<Status>{status}</Status>" if status else ""
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<VersioningConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/">'
        f"{inner}</VersioningConfiguration>"
    )
    return 200, {"Content-Type": "application/xml"}, body


S3Response.get_bucket_versioning = get_bucket_versioning

# --- ECR, CloudWatch Logs, IAM -----------------------------------------------------------

from moto.ecr.models import Repository as _EcrRepository


def _update_image_scanning_configuration(self, image_scanning_configuration):
    # AWS: PutImageScanningConfiguration with `scanOnPush` absent turns scanning off
    # (false is the member's default, and SDKs leave a default-valued member out, as the
    # Rust SDK does for `scan_on_push(false)`). moto ignores an empty configuration and
    # keeps scanning on.
    if image_scanning_configuration is not None:
        self.image_scanning_configuration = {
            "scanOnPush": bool(image_scanning_configuration.get("scanOnPush", False))
        }


_EcrRepository._update_image_scanning_configuration = _update_image_scanning_configuration

# (end of ECR, CloudWatch Logs, IAM)


# --- ECS, Application Auto Scaling -------------------------------------------------------

import moto.ecs.models as _ecs
import moto.ecs.responses as _ecsr
from moto.core.responses import ActionResult as _EcsActionResult
from moto.ecs.exceptions import ECSException as _EcsException
from moto.ecs.exceptions import TaskDefinitionNotFoundException as _TdNotFound

_ecs_create_service = _ecs.EC2ContainerServiceBackend.create_service
_ecs_update_service = _ecs.EC2ContainerServiceBackend.update_service
_ecs_create_service_response = _ecsr.EC2ContainerServiceResponse.create_service


def _deployment_completed(service):
    # What AWS reports once a deployment's tasks are running and healthy: one PRIMARY
    # deployment of the service's task definition, rolloutState COMPLETED, runningCount
    # = desiredCount (the old deployment drained). moto never runs tasks, so without this
    # runningCount stays 0 and the old deployment stays PRIMARY forever.
    old = service.deployments[0] if service.deployments else {}
    service.running_count = service.desired_count
    service.pending_count = 0
    deployment_id = f"ecs-svc/{_ecs.mock_random.randint(0, 32**12)}"
    service.deployments = [
        dict(
            old,
            id=deployment_id,
            status="PRIMARY",
            taskDefinition=service.task_definition,
            desiredCount=service.desired_count,
            runningCount=service.desired_count,
            pendingCount=0,
            failedTasks=0,
            rolloutState="COMPLETED",
            rolloutStateReason=f"ECS deployment {deployment_id} completed.",
            createdAt=_ecs.utcnow(),
            updatedAt=_ecs.utcnow(),
        )
    ]


def ecs_create_service(self, *args, **kwargs):
    # AWS: a new service's deployment completes once its tasks are healthy (see
    # `_deployment_completed`).
    service = _ecs_create_service(self, *args, **kwargs)
    _deployment_completed(service)
    return service


def ecs_update_service(self, service_properties):
    # AWS: an update that starts a deployment (new task definition, network, load
    # balancers...) completes once the new tasks are healthy (see `_deployment_completed`).
    service = _ecs_update_service(self, service_properties)
    _deployment_completed(service)
    return service


def ecs_create_service_response(self):
    # AWS: CreateService stores deploymentConfiguration (circuit breaker, min/max
    # percent) and healthCheckGracePeriodSeconds, and DescribeServices returns them.
    # moto drops both (describe returns null); its UpdateService stores them.
    result = _ecs_create_service_response(self)
    cluster = self._get_param("cluster", "default")
    service = self.ecs_backend._get_service(cluster, self._get_param("serviceName"))
    configuration = self._get_param("deploymentConfiguration")
    if configuration is not None:
        service.deployment_configuration = configuration
    grace = self._get_param("healthCheckGracePeriodSeconds")
    if grace is not None:
        service.health_check_grace_period_seconds = grace
    return result


_ecs_describe_task_definition = _ecs.EC2ContainerServiceBackend.describe_task_definition


def ecs_describe_task_definition(self, task_definition_str):
    # AWS: DescribeTaskDefinition given a family (no revision) describes the family's
    # latest ACTIVE revision, and fails with ClientException when it has none. moto
    # describes its latest revision whatever its status.
    name = task_definition_str.split("/")[-1]
    if ":" in name:
        return _ecs_describe_task_definition(self, task_definition_str)
    revisions = self.task_definitions.get(name, {})
    active = [r for r, td in revisions.items() if td.status == "ACTIVE"]
    if not active:
        raise _TdNotFound()
    return revisions[max(active)]


def ecs_list_task_definition_families(self, family_prefix=None, status=None):
    # AWS: ListTaskDefinitionFamilies with status=ACTIVE lists only families that still
    # have an ACTIVE revision. moto ignores the status.
    for family, revisions in self.task_definitions.items():
        if family_prefix is not None and not family.startswith(family_prefix):
            continue
        if status == "ACTIVE" and not any(
            td.status == "ACTIVE" for td in revisions.values()
        ):
            continue
        yield family


def ecs_list_task_definition_families_response(self):
    # (passes the status filter through to the backend; see above)
    results = self.ecs_backend.list_task_definition_families(
        self._get_param("familyPrefix"), self._get_param("status")
    )
    return _EcsActionResult({"families": list(results)})


_ecs_delete_cluster = _ecs.EC2ContainerServiceBackend.delete_cluster


def ecs_delete_cluster(self, cluster_str):
    # AWS: DeleteCluster fails with ClusterContainsServicesException while a service in
    # the cluster is ACTIVE or DRAINING. moto deletes the cluster under its services.
    cluster = self._get_cluster(cluster_str)
    if any(
        s.cluster_name == cluster.name and s.status in ("ACTIVE", "DRAINING")
        for s in self.services.values()
    ):
        raise _EcsException(
            "ClusterContainsServicesException",
            "The Cluster cannot be deleted while Services are active.",
        )
    return _ecs_delete_cluster(self, cluster_str)


_ecs.EC2ContainerServiceBackend.delete_cluster = ecs_delete_cluster
_ecs.EC2ContainerServiceBackend.create_service = ecs_create_service
_ecs.EC2ContainerServiceBackend.update_service = ecs_update_service
_ecsr.EC2ContainerServiceResponse.create_service = ecs_create_service_response
_ecs.EC2ContainerServiceBackend.describe_task_definition = ecs_describe_task_definition
_ecs.EC2ContainerServiceBackend.list_task_definition_families = (
    ecs_list_task_definition_families
)
_ecsr.EC2ContainerServiceResponse.list_task_definition_families = (
    ecs_list_task_definition_families_response
)

# (end of ECS, Application Auto Scaling)


# --- Elastic Load Balancing v2 -----------------------------------------------------------

import json as _json

import moto.elbv2.models as _elb
from moto.elbv2.exceptions import ELBClientError as _ElbError

_delete_load_balancer = _elb.ELBv2Backend.delete_load_balancer


def delete_load_balancer(self, arn):
    # AWS: DeleteLoadBalancer of a balancer whose attribute deletion_protection.enabled
    # is true fails with OperationNotPermitted. moto deletes it.
    balancer = self.load_balancers.get(arn)
    if balancer is not None and balancer.attrs.get("deletion_protection.enabled") == "true":
        raise _ElbError(
            "OperationNotPermitted",
            f"Load balancer '{arn}' cannot be deleted because deletion protection is enabled",
        )
    return _delete_load_balancer(self, arn)



# The account that writes a region's ALB access logs, in regions opened before August
# 2022 (AWS documents one per region); newer regions use the service principal.
_ELB_LOG_ACCOUNTS = {
    "us-east-1": "127311923021",
    "us-east-2": "033677994240",
    "us-west-1": "027434742980",
    "us-west-2": "797873946194",
    "eu-west-1": "156460612806",
    "eu-west-2": "652711504416",
    "eu-west-3": "009996457667",
    "eu-central-1": "054676820928",
    "eu-north-1": "897822967062",
}
_ELB_LOG_SERVICE = "logdelivery.elasticloadbalancing.amazonaws.com"


def _elb_may_write(policy, region):
    # True when a statement allows s3:PutObject to the region's ELB account or the log
    # delivery service.
    try:
        doc = _json.loads(policy.decode() if isinstance(policy, bytes) else policy)
    except ValueError:
        return False
    statements = doc.get("Statement", [])
    if isinstance(statements, dict):
        statements = [statements]
    account = _ELB_LOG_ACCOUNTS.get(region)
    for st in statements:
        if st.get("Effect") != "Allow":
            continue
        actions = st.get("Action", [])
        actions = [actions] if isinstance(actions, str) else actions
        if not any(a in ("s3:PutObject", "s3:*", "*") for a in actions):
            continue
        principal = st.get("Principal", {})
        if not isinstance(principal, dict):
            continue
        services = principal.get("Service", [])
        services = [services] if isinstance(services, str) else services
        accounts = principal.get("AWS", [])
        accounts = [accounts] if isinstance(accounts, str) else accounts
        if _ELB_LOG_SERVICE in services:
            return True
        if account and any(a in (account, f"arn:aws:iam::{account}:root") for a in accounts):
            return True
    return False


_modify_load_balancer_attributes = _elb.ELBv2Backend.modify_load_balancer_attributes


def modify_load_balancer_attributes(self, arn, attrs):
    # AWS: switching access logs on checks that Elastic Load Balancing may write to the
    # bucket (it writes a test object) and fails with InvalidConfigurationRequest
    # "Access Denied for bucket: <name>. Please check S3bucket permission" when the
    # bucket's policy does not allow s3:PutObject to the region's ELB account or to
    # logdelivery.elasticloadbalancing.amazonaws.com ("The specified bucket does not
    # exist" without a bucket). moto accepts any bucket name.
    balancer = self.load_balancers.get(arn)
    if balancer is not None and attrs.get("access_logs.s3.enabled") == "true":
        from moto.s3.models import s3_backends

        name = attrs.get("access_logs.s3.bucket") or balancer.attrs.get("access_logs.s3.bucket")
        bucket = s3_backends[self.account_id][self.partition].buckets.get(name)
        if bucket is None:
            raise _ElbError(
                "InvalidConfigurationRequest",
                f"The specified bucket does not exist: {name}",
            )
        if not bucket.policy or not _elb_may_write(bucket.policy, self.region_name):
            raise _ElbError(
                "InvalidConfigurationRequest",
                f"Access Denied for bucket: {name}. Please check S3bucket permission",
            )
    return _modify_load_balancer_attributes(self, arn, attrs)


def add_tags(self, resource_arns, tags):
    # AWS: a load balancer, target group, listener or rule takes up to 50 tags. moto
    # refuses an AddTags that would take one past 10 (TooManyTags), which a stack with
    # a few tags of its own reaches with the ownership tags.
    tag_dict = self.tagging_service.flatten_tag_list(tags)
    for arn in resource_arns:
        existing = self.tagging_service.get_tag_dict_for_resource(arn)
        if len(set(existing) | set(tag_dict)) > 50:
            raise _elb.TooManyTagsError()
        self._get_resource_by_arn(arn)
        self.tagging_service.tag_resource(arn, tags)


_elb.ELBv2Backend.delete_load_balancer = delete_load_balancer
_elb.ELBv2Backend.add_tags = add_tags
_elb.ELBv2Backend.modify_load_balancer_attributes = modify_load_balancer_attributes

# (end of Elastic Load Balancing v2)


# --- ACM, Route 53, WAFv2 ----------------------------------------------------------------

import moto.route53.models as _r53
import moto.acm.models as _acm
import moto.acm.responses as _acmr
import moto.wafv2.models as _waf
from moto.core.exceptions import AWSError as _AWSError
from moto.route53.exceptions import ResourceRecordAlreadyExists as _RecordExists

_change_rrsets = _r53.Route53Backend.change_resource_record_sets


def _fqdn(name):
    return name.rstrip(".").lower() + "."


def change_resource_record_sets(self, zoneid, change_list):
    # AWS: a CREATE of a record set whose name and type already exist fails the whole
    # batch with InvalidChangeBatch ("Tried to create resource record set ... but it
    # already exists"), and nothing in the batch is applied. moto adds a second copy
    # unless the very same change was made before.
    zone = self.get_hosted_zone(zoneid)
    for change in change_list:
        if change["Action"] != "CREATE":
            continue
        rr = change["ResourceRecordSet"]
        name = _fqdn(rr["Name"])
        for existing in zone.rrsets:
            if (
                _fqdn(existing.name) == name
                and existing.type == rr["Type"]
                and existing.set_identifier == rr.get("SetIdentifier")
            ):
                raise _RecordExists(name=name, _type=rr["Type"])
    return _change_rrsets(self, zoneid, change_list)


_r53.Route53Backend.change_resource_record_sets = change_resource_record_sets


def _never_seen(self, item):
    # moto's own CREATE check (the only use of `change in zone.rr_changes`) refuses a
    # CREATE made once before whenever any record sorts after it, even once the first
    # was deleted: AWS only looks at whether that name and type exist now, which
    # change_resource_record_sets above checks instead.
    return False


_r53.ChangeList.__contains__ = _never_seen


def _account_region(cert_arn):
    # arn:aws:acm:<region>:<account>:certificate/<id>
    parts = cert_arn.split(":")
    return parts[4], parts[3]


def _validation_records_present(cert):
    account, _ = _account_region(cert.arn)
    backend = _r53.route53_backends[account]["aws"]
    present = {
        (_fqdn(r.name), r.type)
        for zone in backend.zones.values()
        for r in zone.rrsets
    }
    options = cert.describe()["Certificate"].get("DomainValidationOptions", [])
    wanted = {(_fqdn(o["ResourceRecord"]["Name"]), "CNAME") for o in options}
    return bool(wanted) and wanted <= present


_acm_check = _acm.CertBundle.check


def acm_check(self):
    # AWS: a certificate validated by DNS is issued once every domain's validation CNAME
    # can be resolved (minutes after the records are written), and never without them.
    # moto issues every requested certificate 60 s after the request
    # (MOTO_ACM_VALIDATION_WAIT), whatever DNS holds. Here it is issued as soon as each
    # validation CNAME is in a hosted zone of the account (the records resolve at once).
    if self.type == "AMAZON_ISSUED" and self.status == "PENDING_VALIDATION":
        if _validation_records_present(self):
            self.status = "ISSUED"
        return
    _acm_check(self)


_acm.CertBundle.check = acm_check


def _listener_users(cert):
    # The load balancers whose listeners serve `cert`.
    from moto.elbv2.models import elbv2_backends

    account, region = _account_region(cert.arn)
    users = []
    for lb in elbv2_backends[account][region].load_balancers.values():
        for listener in lb.listeners.values():
            arns = [
                c.get("CertificateArn") if isinstance(c, dict) else c
                for c in (listener.certificates or [])
            ]
            if cert.arn in arns and lb.arn not in users:
                users.append(lb.arn)
    return users


class _CertificateInUse(_AWSError):
    TYPE = "ResourceInUseException"


_acm_describe = _acm.CertBundle.describe


def acm_describe(self):
    # AWS: DescribeCertificate's InUseBy lists the load balancers whose listeners use
    # the certificate. moto's elbv2 never records it (only classic ELB does).
    out = _acm_describe(self)
    out["Certificate"]["InUseBy"] = sorted(set(self.in_use_by) | set(_listener_users(self)))
    return out


_acm.CertBundle.describe = acm_describe

_acm_delete = _acm.AWSCertificateManagerBackend.delete_certificate


def acm_delete_certificate(self, arn):
    # AWS: DeleteCertificate fails with ResourceInUseException while a load balancer's
    # listener uses the certificate. moto deletes it.
    cert = self._certificates.get(arn)
    if cert is not None and _listener_users(cert):
        raise _CertificateInUse(
            message=f"Certificate {arn} in account {self.account_id} is in use."
        )
    return _acm_delete(self, arn)


_acm.AWSCertificateManagerBackend.delete_certificate = acm_delete_certificate


class _WafAssociated(_AWSError):
    TYPE = "WAFAssociatedItemException"


_waf_delete = _waf.WAFV2Backend.delete_web_acl


def waf_delete_web_acl(self, name, scope, _id, lock_token):
    # AWS: DeleteWebACL fails with WAFAssociatedItemException while the web ACL is
    # associated with a resource. moto deletes it and leaves the association behind.
    for wacl in self.wacls.values():
        if wacl.name == name and wacl.id == _id and wacl.associated_resources:
            raise _WafAssociated(
                message="AWS WAF couldn’t perform the operation because your resource is being used by another resource or it’s associated with another resource."
            )
    return _waf_delete(self, name, scope, _id, lock_token)


_waf.WAFV2Backend.delete_web_acl = waf_delete_web_acl


import json as _json
import moto.wafv2.responses as _wafr
from moto.wafv2.exceptions import WAFNonexistentItemException as _WafNotFound

_WAF_RESOURCE_KINDS = {
    "APPLICATION_LOAD_BALANCER": ":loadbalancer/app/",
    "API_GATEWAY": ":apigateway:",
    "APPSYNC": ":appsync:",
    "COGNITO_USER_POOL": ":cognito-idp:",
    "APP_RUNNER_SERVICE": ":apprunner:",
    "VERIFIED_ACCESS_INSTANCE": ":verified-access-instance/",
}


def waf_list_resources_for_web_acl(self):
    # AWS: ListResourcesForWebACL answers the ARNs of the resources of ResourceType
    # (APPLICATION_LOAD_BALANCER when omitted) the web ACL is associated with. moto does
    # not implement it and answers HTTP 500.
    body = _json.loads(self.body)
    wacl = self.wafv2_backend.wacls.get(body.get("WebACLArn"))
    if wacl is None:
        raise _WafNotFound()
    kind = _WAF_RESOURCE_KINDS.get(body.get("ResourceType") or "APPLICATION_LOAD_BALANCER", "")
    arns = [a for a in wacl.associated_resources if kind and kind in a]
    return 200, {}, _json.dumps({"ResourceArns": arns})


_wafr.WAFV2Response.list_resources_for_web_acl = waf_list_resources_for_web_acl

# (end of ACM, Route 53, WAFv2)


# --- SQS ---------------------------------------------------------------------------------

import moto.sqs.models as _sqs
from moto.sqs.exceptions import QueueAlreadyExists as _SqsQueueAlreadyExists

_create_queue = _sqs.SQSBackend.create_queue


def create_queue(self, name, tags=None, **kwargs):
    # AWS: CreateQueue for a name that exists, with tags other than the queue's (even
    # when it has none), fails with QueueAlreadyExists; the queue's tags stay as they
    # are. moto hands the queue back and replaces its tags, which would make a queue
    # made by someone else look like ours.
    existing = self.queues.get(name)
    if existing is not None and tags and dict(tags) != dict(existing.tags or {}):
        raise _SqsQueueAlreadyExists(
            "A queue already exists with the same name and a different value for tags"
        )
    return _create_queue(self, name, tags=tags, **kwargs)


_sqs.SQSBackend.create_queue = create_queue


def queue_url(self, request_url):
    # AWS: a queue's URL is https://sqs.<region>.amazonaws.com/<account>/<name>, whatever
    # endpoint the request went to. moto builds it from the request's host, so the same
    # queue had another URL through the tests' fault-injecting proxy (and a function
    # given the URL saw a change that is not one).
    return f"https://sqs.{self.region}.amazonaws.com/{self.account_id}/{self.name}"


_sqs.Queue.url = queue_url

# (end of SQS)


# --- Lambda ------------------------------------------------------------------------------

import moto.awslambda.models as _lm

_lambda_init = _lm.LambdaFunction.__init__
_lambda_configuration = _lm.LambdaFunction.get_configuration
_lambda_update_configuration = _lm.LambdaFunction.update_configuration
_lambda_update_code = _lm.LambdaFunction.update_function_code


def _logging_config(function_name, given):
    # AWS's LoggingConfig when none or part is given: Text logs to /aws/lambda/<name>.
    config = {"LogFormat": "Text", "LogGroup": f"/aws/lambda/{function_name}"}
    config.update({k: v for k, v in (given or {}).items() if v})
    return config


def lambda_function_init(self, account_id, spec, region, version=1):
    # AWS: CreateFunction keeps LoggingConfig (log format, log group) and every later
    # GetFunction, ListFunctions and update answer returns it. moto drops it.
    _lambda_init(self, account_id, spec, region, version)
    self.logging_config = _logging_config(self.function_name, spec.get("LoggingConfig"))


def lambda_get_configuration(self, on_create=False):
    # AWS: every function configuration carries LoggingConfig. moto has none.
    config = _lambda_configuration(self, on_create)
    config["LoggingConfig"] = getattr(
        self, "logging_config", _logging_config(self.function_name, None)
    )
    return config


def lambda_update_configuration(self, config_updates):
    # AWS: UpdateFunctionConfiguration changes LoggingConfig. moto ignores it.
    if "LoggingConfig" in config_updates:
        self.logging_config = _logging_config(
            self.function_name, config_updates["LoggingConfig"]
        )
    return _lambda_update_configuration(self, config_updates)


def lambda_update_function_code(self, updated_spec):
    # AWS: UpdateFunctionCode with Architectures changes the function's instruction set
    # (the only way to change it). moto ignores Architectures there.
    if updated_spec.get("Architectures") and not updated_spec.get("DryRun"):
        self.architectures = updated_spec["Architectures"]
    return _lambda_update_code(self, updated_spec)


_lambda_get_code = _lm.LambdaFunction.get_code


def lambda_get_code(self):
    # AWS: GetFunction returns Concurrency whenever reserved concurrency is set, 0
    # included (a function throttled on purpose). moto leaves it out for 0.
    resp = _lambda_get_code(self)
    if self.reserved_concurrency is not None:
        resp["Concurrency"] = {
            "ReservedConcurrentExecutions": int(self.reserved_concurrency)
        }
    return resp


_lm.LambdaFunction.get_code = lambda_get_code
_lm.LambdaFunction.__init__ = lambda_function_init
_lm.LambdaFunction.get_configuration = lambda_get_configuration
_lm.LambdaFunction.update_configuration = lambda_update_configuration
_lm.LambdaFunction.update_function_code = lambda_update_function_code

# (end of Lambda)


# --- API Gateway -------------------------------------------------------------------------

import moto.apigateway.models as _apigw
from moto.apigateway.exceptions import ResourceIdNotFoundException as _ApigwNoResource


def apigw_delete_resource(self, function_id, resource_id):
    # AWS: DeleteResource deletes the resource with every resource under it (and their
    # methods), and answers NotFoundException for one that does not exist. moto removes
    # only that resource (the orphans under it then break GetResources with HTTP 500)
    # and answers HTTP 500 for an unknown id.
    api = self.get_rest_api(function_id)
    if resource_id not in api.resources:
        raise _ApigwNoResource()
    resource = api.resources.pop(resource_id)
    orphans = True
    while orphans:
        orphans = [
            rid
            for rid, r in api.resources.items()
            if r.parent_id and r.parent_id not in api.resources
        ]
        for rid in orphans:
            api.resources.pop(rid, None)
    return resource


_apigw.APIGatewayBackend.delete_resource = apigw_delete_resource


import json as _json
from urllib.parse import unquote as _unquote

import moto.apigateway.responses as _apigw_responses
import moto.apigateway.urls as _apigw_urls
from moto.apigateway.exceptions import RestAPINotFound as _ApigwNoApi

_APIGW = _apigw_responses.APIGatewayResponse


def apigw_delete_rest_api(self, function_id):
    # AWS: deleting an unknown REST API answers NotFoundException. moto: HTTP 500.
    if function_id not in self.apis:
        raise _ApigwNoApi()
    return self.apis.pop(function_id)


_apigw.APIGatewayBackend.delete_rest_api = apigw_delete_rest_api


def _tagged_api(self):
    # The REST API a /tags/<arn> request names, if the ARN is a REST API's
    # (arn:aws:apigateway:<region>::/restapis/<id>), else None (a stage's).
    parts = _unquote(self.path.split("/tags/")[1]).split("/")
    if len(parts) == 3 and parts[1] == "restapis":
        return self.backend.get_rest_api(parts[2])
    return None


def _apigw_tags(original, on_api):
    # AWS: TagResource, UntagResource and GetTags take a REST API's ARN as well as a
    # stage's. moto knows only stages (and routes no REST API ARN at all).
    def handler(self):
        api = _tagged_api(self)
        return original(self) if api is None else on_api(self, api)

    return handler


def _tag_api(self, api):
    api.tags.update(self._get_param("tags") or {})
    return _json.dumps({})


def _untag_api(self, api):
    for key in self.querystring.get("tagKeys") or []:
        api.tags.pop(key, None)
    return _json.dumps({})


def _api_tags(self, api):
    return _json.dumps({"tags": api.tags})


_APIGW.tag_resource = _apigw_tags(_APIGW.tag_resource, _tag_api)
_APIGW.untag_resource = _apigw_tags(_APIGW.untag_resource, _untag_api)
_APIGW.get_tags = _apigw_tags(_APIGW.get_tags, _api_tags)
_apigw_urls.url_paths[
    "{0}/tags/arn:(?P<partition>[^/]+):apigateway:(?P<region_name>[^/]+)::/restapis/(?P<function_id>[^/]+)$"
] = _APIGW.dispatch


from moto.apigateway.exceptions import BadRequestException as _ApigwBadRequest

_apigw_update_stage = _apigw.APIGatewayBackend.update_stage


def apigw_update_stage(self, function_id, stage_name, patch_operations):
    # AWS: a stage's access logs need the account's CloudWatch Logs role (UpdateAccount
    # cloudwatchRoleArn, per region); without it UpdateStage answers BadRequestException.
    # moto accepts them regardless.
    logs = any(
        op.get("op") == "replace" and op.get("path", "").startswith("/accessLogSettings/")
        for op in patch_operations or []
    )
    if logs and not self.account.cloudwatch_role_arn:
        raise _ApigwBadRequest(
            "CloudWatch Logs role ARN must be set in account settings to enable logging"
        )
    return _apigw_update_stage(self, function_id, stage_name, patch_operations)


_apigw.APIGatewayBackend.update_stage = apigw_update_stage

from moto.apigateway.exceptions import ConflictException as _ApigwConflict

_apigw_create_resource = _apigw.APIGatewayBackend.create_resource


def apigw_create_resource(self, function_id, parent_resource_id, path_part):
    # AWS: a resource whose parent already has a child of that path part is refused
    # (ConflictException, "Another resource with the same parent already has this
    # name"). moto made a second one, so two applies racing left duplicate routes.
    api = self.get_rest_api(function_id)
    for r in api.resources.values():
        if path_part and r.parent_id == parent_resource_id and r.path_part == path_part:
            raise _ApigwConflict(
                f"Another resource with the same parent already has this name: {path_part}"
            )
    return _apigw_create_resource(self, function_id, parent_resource_id, path_part)


_apigw.APIGatewayBackend.create_resource = apigw_create_resource

# (end of API Gateway)


# --- CodeBuild, CodePipeline, CodeConnections ---------------------------------------------

import json as _json
import re as _re
import struct as _struct
import uuid as _uuid

import moto.codebuild.responses as _cbr
from moto.codebuild.exceptions import (
    InvalidInputException as _CbInvalidInput,
    ResourceNotFoundException as _CbNotFound,
)
from moto.core.responses import ActionResult as _ActionResult
from moto.moto_server.werkzeug_app import DomainDispatcherApplication as _Dispatcher


def codebuild_validate_source(source):
    # AWS: a project whose source type is CODEPIPELINE or NO_SOURCE has no location (the
    # pipeline hands it the source artifact); only repository and S3 sources need one.
    # moto asks every source type for a location ("Project source location is required").
    if source.get("type") in ("CODEPIPELINE", "NO_SOURCE"):
        return
    _validate_source(source)


def codebuild_validate_artifacts(artifacts):
    # AWS: CODEPIPELINE artifacts have no location (the pipeline names the bucket); moto
    # asks for one.
    if artifacts.get("type") == "CODEPIPELINE":
        return
    _validate_artifacts(artifacts)


_validate_source = _cbr._validate_required_params_source
_validate_artifacts = _cbr._validate_required_params_artifacts
_cbr._validate_required_params_source = codebuild_validate_source
_cbr._validate_required_params_artifacts = codebuild_validate_artifacts


def codebuild_update_project(self):
    # AWS: UpdateProject changes the structures it is given (source, artifacts,
    # environment, service role, timeout, logs, description, tags: the whole list) and
    # answers with the project; an unknown name is ResourceNotFoundException. moto has no
    # UpdateProject and answers HTTP 500.
    name = self._get_param("name")
    project = self.codebuild_backend.codebuild_projects.get(name)
    if project is None:
        raise _CbNotFound(f"Project cannot be found: {name}")
    meta = project.project_metadata
    if self._get_param("source") is not None:
        codebuild_validate_source(self._get_param("source"))
    if self._get_param("artifacts") is not None:
        codebuild_validate_artifacts(self._get_param("artifacts"))
    for param, key in (
        ("description", "description"),
        ("source", "source"),
        ("artifacts", "artifacts"),
        ("environment", "environment"),
        ("timeoutInMinutes", "timeoutInMinutes"),
        ("logsConfig", "logsConfig"),
    ):
        value = self._get_param(param)
        if value is not None:
            meta[key] = value
    role = self._get_param("serviceRole")
    if role is not None:
        if not role.startswith("arn:"):
            raise _CbInvalidInput("Invalid service role")
        meta["serviceRole"] = role
        project.service_role = role
    tags = self._get_param("tags")
    if tags is not None:
        meta["tags"] = tags
        project.tags = tags
    return _ActionResult({"project": meta})


_cbr.CodeBuildResponse.update_project = codebuild_update_project


# CodeConnections (the renamed CodeStar Connections): moto has no such service. A minimal
# emulation of what bandup-infra calls, speaking the protocol the SDK speaks (Smithy RPC
# v2 CBOR: POST /service/CodeConnections_20231201/operation/<Op>). Connections are
# created PENDING and stay so: the operator's handshake in the console cannot be shown.

_CC_PATH = "/service/CodeConnections_20231201/operation/"
_CC_ACCOUNT = "123456789012"
_cc_connections = {}  # arn -> {"Connection": {...}, "Tags": {key: value}}


def _cbor_head(major, n):
    if n < 24:
        return bytes([major << 5 | n])
    for add, fmt in ((24, ">B"), (25, ">H"), (26, ">I"), (27, ">Q")):
        if n < 1 << (8 * _struct.calcsize(fmt)):
            return bytes([major << 5 | add]) + _struct.pack(fmt, n)
    raise ValueError("too large")


def cbor_encode(v):
    # CBOR (RFC 8949) for what these answers hold: maps, lists, strings, ints, booleans.
    if v is None:
        return b"\xf6"
    if v is True:
        return b"\xf5"
    if v is False:
        return b"\xf4"
    if isinstance(v, int):
        return _cbor_head(0, v) if v >= 0 else _cbor_head(1, -1 - v)
    if isinstance(v, str):
        b = v.encode()
        return _cbor_head(3, len(b)) + b
    if isinstance(v, (list, tuple)):
        return _cbor_head(4, len(v)) + b"".join(cbor_encode(x) for x in v)
    if isinstance(v, dict):
        return _cbor_head(5, len(v)) + b"".join(
            cbor_encode(k) + cbor_encode(x) for k, x in v.items()
        )
    raise TypeError(type(v))


def cbor_decode(data):
    def item(i):
        ib = data[i]
        major, add = ib >> 5, ib & 31
        i += 1
        if major == 7:
            if add == 20:
                return False, i
            if add == 21:
                return True, i
            if add in (22, 23):
                return None, i
            if add == 25:
                return _half(data[i : i + 2]), i + 2
            if add == 26:
                return _struct.unpack(">f", data[i : i + 4])[0], i + 4
            if add == 27:
                return _struct.unpack(">d", data[i : i + 8])[0], i + 8
            raise ValueError("simple value %d" % add)
        if add < 24:
            n = add
        elif add == 31:
            n = None
        else:
            size = 1 << (add - 24)
            n = int.from_bytes(data[i : i + size], "big")
            i += size
        if major == 0:
            return n, i
        if major == 1:
            return -1 - n, i
        if major in (2, 3):
            if n is None:
                parts = []
                while data[i] != 0xFF:
                    p, i = item(i)
                    parts.append(p)
                return (b"" if major == 2 else "").join(parts), i + 1
            raw = data[i : i + n]
            return (bytes(raw) if major == 2 else raw.decode()), i + n
        if major == 4:
            out = []
            while (n is None and data[i] != 0xFF) or (n is not None and len(out) < n):
                x, i = item(i)
                out.append(x)
            return out, (i + 1 if n is None else i)
        if major == 5:
            out, count = {}, 0
            while (n is None and data[i] != 0xFF) or (n is not None and count < n):
                k, i = item(i)
                out[k], i = item(i)
                count += 1
            return out, (i + 1 if n is None else i)
        if major == 6:
            return item(i)  # a tag (timestamps): the value it tags
        raise ValueError("major type %d" % major)

    if not data:
        return {}
    return item(0)[0]


def _half(b):
    h = int.from_bytes(b, "big")
    exp, mant = (h >> 10) & 0x1F, h & 0x3FF
    val = mant * 2**-24 if exp == 0 else (mant + 1024) * 2 ** (exp - 25)
    return -val if h & 0x8000 else val


class _CcError(Exception):
    def __init__(self, code, message, status=400):
        self.code, self.message, self.status = code, message, status


def _cc_region(environ):
    m = _re.search(r"Credential=[^/]+/[^/]+/([^/]+)/", environ.get("HTTP_AUTHORIZATION", ""))
    return m.group(1) if m else "us-east-1"


def _cc_get(arn):
    c = _cc_connections.get(arn)
    if c is None:
        raise _CcError("ResourceNotFoundException", f"Resource not found: {arn}")
    return c


def _cc_tags(tags):
    for t in tags or []:
        if t["Key"].startswith("aws:"):
            raise _CcError("ValidationException", "Tag keys may not start with aws:")
    return {t["Key"]: t["Value"] for t in tags or []}


def _cc_call(op, body, region):
    if op == "CreateConnection":
        provider = body.get("ProviderType")
        if provider not in ("Bitbucket", "GitHub", "GitHubEnterpriseServer", "GitLab", "GitLabSelfManaged", "AzureDevOps"):
            raise _CcError("ValidationException", f"Invalid ProviderType: {provider}")
        name = body.get("ConnectionName", "")
        if not 1 <= len(name) <= 32:
            raise _CcError("ValidationException", "ConnectionName must be 1 to 32 characters")
        arn = f"arn:aws:codeconnections:{region}:{_CC_ACCOUNT}:connection/{_uuid.uuid4()}"
        tags = _cc_tags(body.get("Tags"))
        _cc_connections[arn] = {
            "Connection": {
                "ConnectionName": name,
                "ConnectionArn": arn,
                "ProviderType": provider,
                "OwnerAccountId": _CC_ACCOUNT,
                "ConnectionStatus": "PENDING",
            },
            "Tags": tags,
        }
        return {"ConnectionArn": arn, "Tags": [{"Key": k, "Value": v} for k, v in tags.items()]}
    if op == "GetConnection":
        return {"Connection": _cc_get(body.get("ConnectionArn"))["Connection"]}
    if op == "ListConnections":
        found = [
            c["Connection"]
            for arn, c in sorted(_cc_connections.items())
            if arn.split(":")[3] == region
            and body.get("ProviderTypeFilter") in (None, c["Connection"]["ProviderType"])
        ]
        start = int(body.get("NextToken") or 0)
        size = int(body.get("MaxResults") or 50)
        out = {"Connections": found[start : start + size]}
        if start + size < len(found):
            out["NextToken"] = str(start + size)
        return out
    if op == "DeleteConnection":
        _cc_get(body.get("ConnectionArn"))
        del _cc_connections[body["ConnectionArn"]]
        return {}
    if op == "ListTagsForResource":
        tags = _cc_get(body.get("ResourceArn"))["Tags"]
        return {"Tags": [{"Key": k, "Value": v} for k, v in sorted(tags.items())]}
    if op == "TagResource":
        _cc_get(body.get("ResourceArn"))["Tags"].update(_cc_tags(body.get("Tags")))
        return {}
    if op == "UntagResource":
        tags = _cc_get(body.get("ResourceArn"))["Tags"]
        for k in body.get("TagKeys") or []:
            tags.pop(k, None)
        return {}
    raise _CcError("UnknownOperationException", f"{op} is not emulated", 404)


def codeconnections_app(environ, start_response):
    op = environ.get("PATH_INFO", "")[len(_CC_PATH) :]
    length = int(environ.get("CONTENT_LENGTH") or 0)
    raw = environ["wsgi.input"].read(length) if length else b""
    try:
        answer, status = _cc_call(op, cbor_decode(raw) or {}, _cc_region(environ)), "200 OK"
    except _CcError as e:
        answer = {"__type": f"com.amazonaws.codeconnections#{e.code}", "message": e.message}
        status = f"{e.status} Error"
    body = cbor_encode(answer)
    start_response(
        status,
        [
            ("Content-Type", "application/cbor"),
            ("smithy-protocol", "rpc-v2-cbor"),
            ("x-amzn-RequestId", str(_uuid.uuid4())),
            ("Content-Length", str(len(body))),
        ],
    )
    return [body]


_dispatch = _Dispatcher.__call__


def dispatch_with_codeconnections(self, environ, start_response):
    # Requests to CodeConnections go to the emulation above; a reset of moto empties it.
    path = environ.get("PATH_INFO", "")
    if path.startswith(_CC_PATH):
        return codeconnections_app(environ, start_response)
    if path.startswith("/moto-api/reset"):
        _cc_connections.clear()
    return _dispatch(self, environ, start_response)


_Dispatcher.__call__ = dispatch_with_codeconnections

# (end of CodeBuild, CodePipeline, CodeConnections)


# --- Resource Groups Tagging API -----------------------------------------------------------

from moto.core.resource_tagging import TaggedResource, make_tag_matcher, match_resource_type
from moto.resourcegroupstaggingapi.models import ResourceGroupsTaggingAPIBackend as _Rgt

_rgt_resources = _Rgt._get_resources_generator

# AWS names a type in ResourceTypeFilters as its ARN does; moto's own names for these.
_RGT_MOTO_NAMES = {
    "logs:log-group": "logs:loggroup",
    "elasticache:subnetgroup": "elasticache:cache_subnet_groups",
}


def rgt_get_resources_generator(
    self, tag_filters=None, resource_type_filters=None, resource_arn_list=None
):
    # AWS: GetResources covers ECR repositories, Lambda event source mappings, pipelines,
    # connections, DB subnet groups and WAFv2 web ACLs, and takes the ARN's type names
    # (logs:log-group, elasticache:subnetgroup). moto leaves the first out and knows the
    # second under names of its own, so a filter on them found nothing.
    wanted = list(resource_type_filters or [])
    moto_names = wanted + [_RGT_MOTO_NAMES[t] for t in wanted if t in _RGT_MOTO_NAMES]
    yield from _rgt_resources(
        self,
        tag_filters=tag_filters,
        resource_type_filters=moto_names,
        resource_arn_list=resource_arn_list,
    )
    matches = make_tag_matcher(tag_filters)

    def listed(resource_type, arn, tags):
        if (
            tags
            and matches(tags)
            and match_resource_type(resource_type, wanted)
            and (not resource_arn_list or arn in resource_arn_list)
        ):
            yield TaggedResource(arn=arn, tags=dict(tags), resource_type=resource_type)

    def pairs(tag_list):
        return {t["Key"]: t["Value"] for t in tag_list or []}

    from moto.awslambda.models import lambda_backends
    from moto.codepipeline.models import codepipeline_backends
    from moto.ecr.models import ecr_backends
    from moto.rds.models import rds_backends
    from moto.wafv2.models import wafv2_backends

    account, region = self.account_id, self.region_name
    ecr = ecr_backends[account][region]
    for repo in list(ecr.repositories.values()):
        yield from listed("ecr:repository", repo.arn, ecr.tagger.get_tag_dict_for_resource(repo.arn))
    for esm in list(lambda_backends[account][region]._event_source_mappings.values()):
        yield from listed("lambda:event-source-mapping", esm.arn, getattr(esm, "tags", None))
    for pipeline in list(codepipeline_backends[account][region].pipelines.values()):
        yield from listed("codepipeline:pipeline", pipeline._arn, pipeline.tags)
    for arn, c in sorted(_cc_connections.items()):
        if arn.split(":")[3] == region:
            yield from listed("codeconnections:connection", arn, c["Tags"])
    for group in list(rds_backends[account][region].subnet_groups.values()):
        yield from listed("rds:subgrp", group.arn, pairs(group.tags))
    waf = wafv2_backends[account][region]
    for acl in list(waf.wacls.values()):
        yield from listed("wafv2:webacl", acl.arn, waf.tagging_service.get_tag_dict_for_resource(acl.arn))


_Rgt._get_resources_generator = rgt_get_resources_generator

# (end of Resource Groups Tagging API)


def serve_on_a_free_port(host, port_file):
    # Bind port 0 and say which port the system gave, by writing it to port_file (via a
    # rename, so a reader never sees half of it). Choosing a free port first and handing
    # it to moto leaves a window in which two servers started together can pick the
    # same one, and the second's client then talks to the first's server.
    import signal

    from moto.moto_server.werkzeug_app import (
        DomainDispatcherApplication,
        MotoRequestHandler,
        create_backend_app,
    )
    from werkzeug.serving import make_server

    app = DomainDispatcherApplication(create_backend_app)
    server = make_server(host, 0, app, threaded=True, request_handler=MotoRequestHandler)
    # moto builds some URLs (SQS queue URLs among them) from MOTO_PORT.
    os.environ["MOTO_PORT"] = str(server.port)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    with open(port_file + ".tmp", "w") as f:
        f.write(f"{server.port}\n")
    os.replace(port_file + ".tmp", port_file)
    server.serve_forever()


if __name__ == "__main__":
    if "--port-file" in sys.argv:
        import argparse

        parser = argparse.ArgumentParser()
        parser.add_argument("-H", "--host", default="127.0.0.1")
        parser.add_argument("--port-file", required=True)
        args = parser.parse_args()
        serve_on_a_free_port(args.host, args.port_file)
    else:
        from moto.server import main

        sys.exit(main())
