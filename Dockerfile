# syntax=docker/dockerfile:1
#
# The voxgate façade: the gRPC service (voxgate.v1, grpc.health.v1, reflection) in front of a
# separate Triton (Dockerfile.triton). Stateless apart from the voice registry (SQLite under
# /var/lib/voxgate: mount a volume there to keep registered voices).
#
#   docker build -t voxgate/facade:0.1.0 .
#   docker run -p 50051:50051 voxgate/facade:0.1.0 --triton-url triton-host:8001 --host 0.0.0.0
#
# Every `voxgate serve --help` setting can also be given as VOXGATE_<NAME> in the environment
# (flags win). tests/deploy/test_images.py runs this image's ENTRYPOINT + CMD and HEALTHCHECK
# from a wheel built the way the first stage builds it, in a fresh virtual environment.
ARG PYTHON_IMAGE=python:3.11-slim-bookworm

# --- build the voxgate wheel (pure Python; the generated stubs are part of the package)
FROM ${PYTHON_IMAGE} AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY service/ service/
RUN pip wheel --no-cache-dir --no-deps --disable-pip-version-check -w /wheels .

# --- the service
FROM ${PYTHON_IMAGE}
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    VOXGATE_DATA_DIR=/var/lib/voxgate \
    VOXGATE_LOG_JSON=true \
    VOXGATE_METRICS_HOST=0.0.0.0
RUN groupadd --system --gid 10001 voxgate \
    && useradd --system --uid 10001 --gid voxgate --create-home --home-dir /home/voxgate voxgate \
    && install -d -o voxgate -g voxgate /var/lib/voxgate
COPY --from=build /wheels/ /tmp/wheels/
RUN pip install --no-cache-dir /tmp/wheels/voxgate-*.whl && rm -rf /tmp/wheels
# grpc.health.v1 probe (exit 0 only when SERVING); uses grpcio-health-checking from the wheel.
COPY --chmod=0755 deploy/docker/grpc_health_probe.py /usr/local/bin/grpc-health-probe

USER 10001:10001
WORKDIR /home/voxgate
VOLUME ["/var/lib/voxgate"]
# 50051 gRPC; 9464 Prometheus metrics (on by default; VOXGATE_METRICS_HOST above makes them
# reachable from outside the container).
EXPOSE 50051 9464
HEALTHCHECK --interval=10s --timeout=5s --start-period=20s --retries=3 \
    CMD ["grpc-health-probe"]
ENTRYPOINT ["voxgate", "serve"]
CMD ["--triton-url", "triton:8001", "--host", "0.0.0.0"]
