#!/usr/bin/env python3
"""A grpc.health.v1 probe: exits 0 when the service answers SERVING, 1 otherwise.

The façade image's HEALTHCHECK (installed as /usr/local/bin/grpc-health-probe). It needs only
grpcio and grpcio-health-checking, which voxgate depends on. The default address is
127.0.0.1:$VOXGATE_PORT (50051 when unset), the port `voxgate serve` listens on.
Kubernetes probes the same service natively (`readinessProbe.grpc`), without this script.
"""

from __future__ import annotations

import argparse
import os
import sys

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

SERVING = health_pb2.HealthCheckResponse.SERVING


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="grpc-health-probe", description=__doc__)
    parser.add_argument(
        "--addr",
        default=f"127.0.0.1:{os.environ.get('VOXGATE_PORT') or 50051}",
        help="host:port (default 127.0.0.1:$VOXGATE_PORT, or :50051)",
    )
    parser.add_argument(
        "--service",
        default="",
        help='the health service name; "" (the default) = every service of the deployment',
    )
    parser.add_argument("--timeout", type=float, default=3.0, help="seconds (default 3)")
    args = parser.parse_args(argv)
    request = health_pb2.HealthCheckRequest(service=args.service)
    with grpc.insecure_channel(args.addr) as channel:
        try:
            reply = health_pb2_grpc.HealthStub(channel).Check(request, timeout=args.timeout)
        except grpc.RpcError as err:
            print(f"{args.addr}: {err.code().name}: {err.details()}", file=sys.stderr)
            return 1
    status = health_pb2.HealthCheckResponse.ServingStatus.Name(reply.status)
    print(f"{args.addr} service {args.service!r}: {status}")
    return 0 if reply.status == SERVING else 1


if __name__ == "__main__":
    sys.exit(main())
