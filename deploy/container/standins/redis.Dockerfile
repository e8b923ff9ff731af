# Local stand-in for redis:7.2-alpine where no container registry is reachable: Debian 12's
# redis-server 7.0 on the local debian:bookworm-slim (deploy/container/make-base-image.sh).
# The official image turns protected mode off (its clients are not on loopback); Debian's
# binary does not, so the entrypoint does.
FROM debian:bookworm-slim
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends redis-server \
 && rm -rf /var/lib/apt/lists/* \
 && install -d -o redis -g redis /data \
 && printf '#!/bin/sh\nif [ "$1" = redis-server ]; then shift; exec redis-server "$@" --protected-mode no; fi\nexec "$@"\n' \
      > /usr/local/bin/redis-entry \
 && chmod 0755 /usr/local/bin/redis-entry
WORKDIR /data
USER redis
EXPOSE 6379
ENTRYPOINT ["/usr/local/bin/redis-entry"]
CMD ["redis-server"]
