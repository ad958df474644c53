#!/usr/bin/env bash
# Makes the base images that docker/*.Dockerfile name available locally when no container
# registry can be reached, under the same tags users pull elsewhere:
#   debian:bookworm-slim     a Debian bookworm root filesystem made by debootstrap (minbase, no docs)
#   eclipse-temurin:25-jdk   that image plus this machine's JDK 25 at /opt/java/openjdk (as Temurin's
#                            image lays it out); only the image build's jlink stage uses it
# A tag that already exists, or that can be pulled, is left alone. Needs root (debootstrap) and
# Debian's mirror; installs debootstrap from Debian's packages when it is missing.
set -euo pipefail

say() { echo "seed-base-images: $*" >&2; }
die() { say "$*"; exit 1; }

DEBIAN_TAG=debian:bookworm-slim
JDK_TAG=eclipse-temurin:25-jdk
SUITE=bookworm
PULL_TIMEOUT=${TANDEM_PULL_TIMEOUT:-20}

have_image() { docker image inspect "$1" >/dev/null 2>&1; }
try_pull() { timeout "$PULL_TIMEOUT" docker pull -q "$1" >/dev/null 2>&1; }

find_jdk() {  # a local JDK 25 to copy into the JDK image
  local dir
  for dir in "${TANDEM_IMAGE_JDK:-}" /usr/lib/jvm/temurin-25-jdk-* /usr/lib/jvm/java-25-*; do
    [ -n "$dir" ] && [ -x "$dir/bin/jlink" ] && "$dir/bin/java" -version 2>&1 | grep -q '"25' && { echo "$dir"; return; }
  done
  return 1
}

seed_debian() {
  have_image "$DEBIAN_TAG" && return
  try_pull "$DEBIAN_TAG" && { say "pulled $DEBIAN_TAG"; return; }
  [ "$(id -u)" -eq 0 ] || die "$DEBIAN_TAG cannot be pulled and making it needs root (debootstrap)"
  if ! command -v debootstrap >/dev/null; then
    say "installing debootstrap (apt-get)..."
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null \
      || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null; }
  fi
  local root; root="$(mktemp -d "${TMPDIR:-/tmp}/tandem-rootfs.XXXXXX")"
  trap 'rm -rf "$root"' RETURN
  say "no registry: making $DEBIAN_TAG with debootstrap --variant=minbase $SUITE (a minute or two)..."
  debootstrap --variant=minbase "$SUITE" "$root" >"$root.log" 2>&1 \
    || { tail -n 20 "$root.log" >&2; rm -f "$root.log"; die "debootstrap failed"; }
  rm -f "$root.log"
  # what Debian's own slim image leaves out: package caches, lists, docs, man pages, locales
  rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/* "$root"/usr/share/doc/* \
         "$root"/usr/share/man/* "$root"/usr/share/info/* "$root"/usr/share/locale/* "$root"/var/log/*.log
  tar -C "$root" -c . | docker import --change 'CMD ["bash"]' - "$DEBIAN_TAG" >/dev/null
  say "made $DEBIAN_TAG ($(docker image inspect -f '{{.Size}}' "$DEBIAN_TAG" | awk '{printf "%.0f MB", $1/1e6}'))"
}

seed_jdk() {
  have_image "$JDK_TAG" && return
  try_pull "$JDK_TAG" && { say "pulled $JDK_TAG"; return; }
  local jdk; jdk="$(find_jdk)" || die "$JDK_TAG cannot be pulled and no local JDK 25 was found (set TANDEM_IMAGE_JDK)"
  local ctx; ctx="$(mktemp -d "${TMPDIR:-/tmp}/tandem-jdk.XXXXXX")"
  trap 'rm -rf "$ctx"' RETURN
  cp -rL "$jdk" "$ctx/openjdk"   # Debian-packaged JDKs link cacerts and more out of their folder
  cat > "$ctx/Dockerfile" <<DOCKERFILE
FROM $DEBIAN_TAG
COPY openjdk /opt/java/openjdk
ENV JAVA_HOME=/opt/java/openjdk PATH=/opt/java/openjdk/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
CMD ["jshell"]
DOCKERFILE
  say "no registry: making $JDK_TAG from $DEBIAN_TAG and $jdk..."
  docker build -q -t "$JDK_TAG" "$ctx" >/dev/null
}

command -v docker >/dev/null || die "docker is not installed"
docker info >/dev/null 2>&1 || die "the Docker daemon is not reachable (is dockerd running?)"
seed_debian
seed_jdk
