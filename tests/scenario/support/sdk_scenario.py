#!/usr/bin/python3
# openstacksdk (Debian's python3-openstacksdk) against a running ironlog: http_basic login, the
# baremetal endpoint given directly. Creates, lists and deploys nodes and prints what it saw as one
# JSON object on stdout; the test (openstacksdk.test.ts) asserts on it.
# Environment: IRONLOG_URL, IRONLOG_USER, IRONLOG_PASSWORD.
import json
import os
import sys

import openstack
from openstack import exceptions

url = os.environ["IRONLOG_URL"]
conn = openstack.connect(
    auth_type="http_basic",
    auth={"username": os.environ["IRONLOG_USER"], "password": os.environ["IRONLOG_PASSWORD"], "endpoint": url},
    baremetal_endpoint_override=url,
    load_yaml_config=False,
    load_envvars=False,
)
bm = conn.baremetal
seen = {}


def node_view(n):
    return {
        "id": n.id,
        "name": n.name,
        "provision_state": n.provision_state,
        "target_provision_state": n.target_provision_state,
        "power_state": n.power_state,
        "driver": n.driver,
        "driver_info": n.driver_info,
        "instance_id": n.instance_id,
        "is_maintenance": n.is_maintenance,
        "last_error": n.last_error,
    }


# create: the SDK's default target is `available`, reached through manage and provide (it waits)
a = bm.create_node(driver="fake-hardware", name="sdk-a", driver_info={"ipmi_password": "sdk-secret"})
seen["created_available"] = node_view(a)
b = bm.create_node(driver="fake-hardware", name="sdk-b", provision_state="enroll", resource_class="sdk-class")
seen["created_enroll"] = node_view(b)
port = bm.create_port(node_id=a.id, address="52:54:00:5d:00:01")
seen["port"] = {"id": port.id, "address": port.address, "node_id": port.node_id}

# list: plain, detailed, with filters and fields
seen["list_names"] = sorted(n.name for n in bm.nodes())
seen["list_available"] = [n.name for n in bm.nodes(provision_state="available")]
seen["list_details"] = sorted((n.name, n.driver, n.resource_class) for n in bm.nodes(details=True))
seen["list_fields"] = sorted((n.name, n.provision_state) for n in bm.nodes(fields=["name", "provision_state"]))
seen["list_by_class"] = [n.name for n in bm.nodes(resource_class="sdk-class")]
seen["ports_of_a"] = [p.address for p in bm.ports(node_id=a.id)]

# deploy and power through the SDK, waiting as it does
a = bm.set_node_provision_state(a, "active", wait=True, timeout=60)
seen["deployed"] = node_view(bm.get_node(a.id))
bm.set_node_power_state(a, "power on", wait=True, timeout=30)
seen["powered"] = node_view(bm.get_node(a.id))
bm.set_node_maintenance(a, reason="sdk check")
seen["maintenance"] = node_view(bm.get_node(a.id))
bm.unset_node_maintenance(a)
try:
    bm.set_node_provision_state(b, "provide")
    seen["provide_enroll"] = "accepted"
except exceptions.SDKException as e:
    seen["provide_enroll"] = {"status": getattr(e, "status_code", None), "message": str(e)}
a = bm.set_node_provision_state(a, "deleted", wait=True, timeout=60)
seen["undeployed"] = node_view(bm.get_node(a.id))

# delete: b straight away (enroll), a once it is manageable
bm.delete_node(b)
bm.set_node_provision_state(a, "manage", wait=True, timeout=30)
bm.delete_node(a)
seen["after_delete"] = [n.name for n in bm.nodes()]
try:
    bm.get_node(a.id)
    seen["get_deleted"] = "found"
except exceptions.ResourceNotFound as e:
    seen["get_deleted"] = {"status": e.status_code}

json.dump(seen, sys.stdout)
