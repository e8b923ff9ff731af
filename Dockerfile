# hookrelay: one image holding webhook-registry, delivery-worker and hookctl.
#
#   docker build -t hookrelay:dev .
#   docker run --rm hookrelay:dev hookctl --help
#   docker run --rm hookrelay:dev delivery-worker --redis_url=redis://redis:6379
#
# No "# syntax=" line: BuildKit would pull that frontend image from a registry; its built-in
# frontend and the legacy builder both build this file where no registry is reachable
# (tests/deploy/image.sh builds it both ways).
#
# The image has no ENTRYPOINT: the command names the binary to run (they are on PATH),
# and every flag can also be given as an environment variable HOOKRELAY_<FLAG>.
# No HEALTHCHECK: Kubernetes probes (gRPC health, /healthz, /readyz) and compose
# healthchecks do that job.

# ---------------------------------------------------------------------------- build
FROM debian:bookworm-slim AS build

RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      build-essential cmake ninja-build pkg-config \
      libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler \
      libabsl-dev libhiredis-dev libssl-dev prometheus-cpp-dev \
      libcurl4-openssl-dev nlohmann-json3-dev libcpp-httplib-dev \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /src
# Only what the services' build needs (see .dockerignore), so edits to docs,
# charts or tests do not invalidate the compile layer.
COPY CMakeLists.txt ./
COPY proto/ proto/
COPY libs/ libs/
COPY services/ services/

RUN cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DHOOKRELAY_BUILD_TESTS=OFF \
 && ninja -C build webhook-registry delivery-worker hookctl \
 && install -d /out/usr/local/bin \
 && install -m 0755 -s \
      build/services/registry/webhook-registry \
      build/services/worker/delivery-worker \
      build/services/hookctl/hookctl \
      /out/usr/local/bin/

# -------------------------------------------------------------------------- runtime
FROM debian:bookworm-slim AS runtime

# Shared libraries the three binaries link against (what ldd reports for them),
# plus CA certificates for HTTPS deliveries. Nothing else: no compilers, no tools.
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      ca-certificates \
      libgrpc++1.51 libprotobuf32 libabsl20220623 libhiredis0.14 libssl3 \
      libprometheus-cpp-core1.0 libcurl4 libcpp-httplib0.11 \
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/archives/* /var/cache/apt/*.bin \
      /var/log/apt /var/log/dpkg.log

COPY --from=build /out/ /

# Build arguments only here, after the slow steps: a new REVISION must not invalidate the
# cached package layer above.
ARG VERSION=0.1.0
ARG REVISION=unknown
ARG CREATED=unknown
LABEL org.opencontainers.image.title="hookrelay" \
      org.opencontainers.image.description="Webhook delivery platform: gRPC registry, delivery workers and the hookctl CLI" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.created="${CREATED}" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.base.name="debian:bookworm-slim"

# Fixed numeric non-root user (Kubernetes runAsNonRoot can verify a numeric UID).
USER 65532:65532
WORKDIR /tmp

EXPOSE 50051 9091 9092
STOPSIGNAL SIGTERM
CMD ["webhook-registry"]
