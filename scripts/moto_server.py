"""Start moto's standalone server, corrected where it answers unlike AWS.

Each correction makes moto do what AWS documents, so that the tool is tested against AWS's
behaviour and never taught to work around the emulator. They are listed in
docs/emulator-gaps.md. Arguments are moto_server's own (-H HOST -p PORT).
"""

import fnmatch
import sys
import types

import moto.ec2.utils
from moto.ec2.models.nat_gateways import NatGatewayBackend

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


def aws_fnmatch(value, pattern):
    # AWS: in filter values only `*` and `?` are wildcards. moto matches them as shell
    # globs, where `[...]` is a character class, so `tag:bandup:resource` =
    # `public_subnet[eu-west-2a]` matched nothing. Make `[` literal.
    return fnmatch.fnmatch(value, pattern.replace("[", "[[]"))


moto.ec2.utils.fnmatch = types.SimpleNamespace(
    fnmatch=aws_fnmatch, translate=fnmatch.translate
)

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

if __name__ == "__main__":
    from moto.server import main

    sys.exit(main())
