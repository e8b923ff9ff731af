#!/usr/bin/env bash
# Makes the base image the Dockerfile starts FROM (debian:bookworm-slim) on a machine that
# reaches no container registry: debootstrap a minimal Debian 12 from the mirror the host's
# apt already uses, trim it like the official slim image, and `docker import` it.
# Idempotent: an image already present under the tag is kept (pass --force to remake it).
#   usage: deploy/container/make-base-image.sh [--force]     (root, debootstrap, a docker engine)
#   env:   BASE_TAG (default debian:bookworm-slim), DOCKER (default docker)
set -euo pipefail
tag=${BASE_TAG:-debian:bookworm-slim}
docker=${DOCKER:-docker}
force=false
[[ "${1:-}" == "--force" ]] && force=true

if ! $force && $docker image inspect "$tag" >/dev/null 2>&1; then
  echo "    base image $tag already present ($($docker image inspect -f '{{.Size}}' "$tag" | awk '{printf "%.0f MB", $1/1e6}'))"
  exit 0
fi
if $docker pull -q "$tag" >/dev/null 2>&1; then
  echo "    pulled $tag from a registry"
  exit 0
fi
command -v debootstrap >/dev/null || { echo "error: debootstrap is not installed (apt-get install debootstrap)" >&2; exit 1; }

# The mirror of the host's "bookworm" suite, from deb822 sources or a one-line sources.list,
# read at run time so that no mirror is written down here.
mirror=$(awk '/^URIs:/{u=$2} /^Suites:/{for(i=2;i<=NF;i++) if($i=="bookworm"){print u; exit}}' \
  /etc/apt/sources.list.d/*.sources 2>/dev/null || true)
if [[ -z "$mirror" ]]; then
  mirror=$(awk '$1=="deb" && $3=="bookworm" {print $2; exit}' /etc/apt/sources.list 2>/dev/null || true)
fi
[[ -n "$mirror" ]] || { echo "error: no Debian bookworm mirror found in the host's apt sources" >&2; exit 1; }

work=$(mktemp -d -t hookrelay-base.XXXXXX)
trap 'rm -rf "$work"' EXIT
echo "    debootstrap --variant=minbase bookworm (log: $work/debootstrap.log; a few minutes)"
if ! nice -n 10 debootstrap --variant=minbase bookworm "$work/rootfs" "$mirror" >"$work/debootstrap.log" 2>&1; then
  tail -n 20 "$work/debootstrap.log" >&2
  echo "error: debootstrap failed" >&2
  exit 1
fi
# The host's sources (bookworm, -updates, -security) so that apt in the image sees the same
# mirror; trim what the official slim image also leaves out.
rm -f "$work/rootfs/etc/apt/sources.list"
debian_sources=$(grep -lE '^Suites:.*\bbookworm\b' /etc/apt/sources.list.d/*.sources 2>/dev/null || true)
if [[ -n "$debian_sources" ]]; then
  cp $debian_sources "$work/rootfs/etc/apt/sources.list.d/"
else
  cp /etc/apt/sources.list "$work/rootfs/etc/apt/sources.list"
fi
# The official image's apt and dpkg settings: no package caches or indexes left in layers, no
# docs, man pages or translations installed (what makes it "slim").
cat >"$work/rootfs/etc/apt/apt.conf.d/docker-clean" <<'APT'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
APT
echo 'Acquire::Languages "none";' >"$work/rootfs/etc/apt/apt.conf.d/docker-no-languages"
echo 'Acquire::GzipIndexes "true";' >"$work/rootfs/etc/apt/apt.conf.d/docker-gzip-indexes"
echo 'Apt::AutoRemove::SuggestsImportant "false";' >"$work/rootfs/etc/apt/apt.conf.d/docker-autoremove-suggests"
printf '%s\n' 'path-exclude /usr/share/doc/*' 'path-include /usr/share/doc/*/copyright' \
  'path-exclude /usr/share/man/*' 'path-exclude /usr/share/info/*' 'path-exclude /usr/share/locale/*' \
  'path-exclude /usr/share/lintian/*' >"$work/rootfs/etc/dpkg/dpkg.cfg.d/docker"
rm -rf "$work/rootfs/var/lib/apt/lists/"* "$work/rootfs/var/cache/apt/"*.bin \
  "$work/rootfs/var/cache/apt/archives/"*.deb "$work/rootfs/usr/share/doc/"* \
  "$work/rootfs/usr/share/man/"* "$work/rootfs/usr/share/locale/"*
tar --numeric-owner -C "$work/rootfs" -c . |
  $docker import -c 'CMD ["bash"]' -m "debootstrap minbase bookworm (hookrelay make-base-image.sh)" - "$tag" >/dev/null
echo "    imported $tag ($($docker image inspect -f '{{.Size}}' "$tag" | awk '{printf "%.0f MB", $1/1e6}'))"
