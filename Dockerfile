# One image for the five services; the service is its argument, as in `make run`:
#   docker build -t bnb-mesh:0.1.0 .    then    docker run bnb-mesh:0.1.0 room_svc
# Kubernetes picks the service with `args: ["room_svc"]` (istio/room.yaml). Not built by `make test`:
# there is no Docker engine there; tests/test_istio.py checks this file statically and checkov lints it.
FROM python:3.11-slim-bookworm AS build
WORKDIR /src
COPY . .
RUN python -m venv /opt/venv \
    && /opt/venv/bin/pip install --no-cache-dir . \
    && /opt/venv/bin/python -m compileall -q /opt/venv

FROM python:3.11-slim-bookworm
# tini as PID 1: forwards SIGTERM to the service (graceful drain) and reaps children.
RUN apt-get update \
    && apt-get install -y --no-install-recommends tini \
    && rm -rf /var/lib/apt/lists/*
COPY --from=build /opt/venv /opt/venv
COPY --from=build /src/envoy/bnb.pb /app/envoy/bnb.pb
WORKDIR /app
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    BNB_BIND_HOST=0.0.0.0 \
    BNB_DESCRIPTOR_SET=/app/envoy/bnb.pb \
    GRPC_EXPERIMENTS=-event_engine_listener,-event_engine_client
# Numeric, so that the kubelet can check runAsNonRoot; the same id as the Deployments' runAsUser.
USER 10001:10001
# Kubernetes probes the gRPC health service (readinessProbe/livenessProbe.grpc); no HEALTHCHECK here.
ENTRYPOINT ["tini", "--", "python", "-m"]
CMD ["room_svc"]
