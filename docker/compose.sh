#!/usr/bin/env bash
# The compose demo: bin/tandem compose <up|down|build|ps|logs|config|test> (see usage below).
# bin/tandem builds the jars first and calls this with JAVA_HOME set.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DOCKER_DIR="$ROOT/docker"
COMPOSE_FILE="$DOCKER_DIR/compose.yml"
SERVICES=(issuer cloud kiosk-1 kiosk-2 prometheus)
TANDEM_IMAGES=(tandem/issuer tandem/cloud-service tandem/edge-service)

say() { echo "tandem compose: $*" >&2; }
die() { say "$*"; exit 1; }

usage() {
  cat <<USAGE
usage: bin/tandem compose <command> [docker compose options]

  up       build the images when needed (seeding base images where no registry is reachable),
           start the issuer, the cloud, two kiosks and Prometheus, wait until all are healthy and
           print the URLs; ports and secrets come from docker/.env
  down     stop and remove the containers (add -v to remove the audit and Prometheus volumes too)
  build    build the images only
  ps, logs the containers' state, their logs (e.g. logs -f kiosk-1)
  config   print the resolved compose file
  test     the compose test CI runs: builds, starts the demo on free ports with fresh secrets,
           checks health, non-root images, no secret in any layer, every route answering on both
           kiosks (the same greedy text wherever the weights are) and every Prometheus target up; then removes all

Needs Docker (Engine 20.10+) with Compose (v2 plugin or docker-compose 1.29). As root on Debian,
missing packages (docker.io, docker-compose, jq) are installed and dockerd is started.
USAGE
}

# --- Docker itself ---------------------------------------------------------------------------

install_packages() {  # Debian packages, as root only
  [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null || return 1
  say "installing $* from Debian's packages..."
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -qq "$@" >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq "$@" >/dev/null; }
}

ensure_docker() {
  if ! command -v dockerd >/dev/null && ! docker info >/dev/null 2>&1; then
    install_packages docker.io || die "Docker is not installed: install Docker Engine (Debian: apt-get install docker.io docker-compose)"
  fi
  command -v docker >/dev/null || die "the docker command is missing (Debian: apt-get install docker.io)"
  if ! docker info >/dev/null 2>&1; then
    [ "$(id -u)" -eq 0 ] && command -v dockerd >/dev/null \
      || die "the Docker daemon is not running and cannot be started from here (start it, or join the docker group)"
    say "starting dockerd (log: /var/log/tandem-dockerd.log)..."
    setsid dockerd >/var/log/tandem-dockerd.log 2>&1 < /dev/null &
    local i; for i in $(seq 1 60); do docker info >/dev/null 2>&1 && break; sleep 0.5; done
    docker info >/dev/null 2>&1 || { tail -n 20 /var/log/tandem-dockerd.log >&2; die "dockerd did not start"; }
  fi
  if docker compose version >/dev/null 2>&1; then
    COMPOSE=(docker compose)
  else
    command -v docker-compose >/dev/null || install_packages docker-compose \
      || die "Docker Compose is missing (Debian: apt-get install docker-compose)"
    COMPOSE=(docker-compose)
  fi
}

compose() { "${COMPOSE[@]}" -f "$COMPOSE_FILE" "$@"; }

# --- Images ----------------------------------------------------------------------------------

# The embedded model's manifest, for the image labels (version and model hashes).
model_labels() {
  local out; out="$(mktemp -d "${TMPDIR:-/tmp}/tandem-manifest.XXXXXX")"
  BUILD_ARGS=(--build-arg "VERSION=$(sed -n 's:^  <version>\(.*\)</version>:\1:p' "$ROOT/pom.xml" | head -n1)"
              --build-arg "REVISION=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)")
  if "$ROOT/bin/tandem" export --out "$out/export" >/dev/null 2>&1; then
    local manifest; manifest="$(find "$out/export" -name manifest.json | head -n1)"
    BUILD_ARGS+=(--build-arg "MODEL_SOURCE_SHA256=$(sed -n 's/.*"sourceSha256" : "\([0-9a-f]*\)".*/\1/p' "$manifest")"
                 --build-arg "MODEL_GRAPH_SHA256=$(sed -n 's/.*"graphSha256" : "\([0-9a-f]*\)".*/\1/p' "$manifest")"
                 --build-arg "MODEL_MANIFEST_SHA256=$(sha256sum "$manifest" | cut -d' ' -f1)")
  else
    say "could not export the embedded model's manifest; the model labels say 'unknown'"
  fi
  rm -rf "$out"
}

build_images() {
  "$DOCKER_DIR/seed-base-images.sh"
  model_labels
  say "building the images (issuer, cloud-service, edge-service, prometheus)..."
  # the legacy builder (no BuildKit needed) prints a deprecation notice on every build: keep the rest
  compose build -q "${BUILD_ARGS[@]}" issuer cloud kiosk-1 2>&1 | grep -v -e DEPRECATED -e buildx -e '^ *$' >&2 || true
  compose build -q prometheus 2>&1 | grep -v -e DEPRECATED -e buildx -e '^ *$' >&2 || true
  local service; for service in issuer cloud kiosk-1 prometheus; do
    docker image inspect "$(compose config | sed -n "/^  $service:/,/^  [a-z]/s/^    image: //p" | head -n1)" >/dev/null 2>&1 \
      || die "the image of $service was not built (see the output above)"
  done
  local image; for image in "${TANDEM_IMAGES[@]}" tandem/prometheus; do
    docker image inspect -f "  $image {{.Size}}" "$image:$(tag)" | awk '{printf "%s %.0f MB\n", $1, $2/1e6}' >&2
  done
}

tag() { echo "${TANDEM_TAG:-$(sed -n 's/^TANDEM_TAG=//p' "$DOCKER_DIR/.env")}"; }

# The demo's secrets, made once on this machine in $1 (never in an image): the issuer's signing key
# (a compose secret), and each kiosk registered as a device of its own at the issuer
# (devices/devices.txt, mounted read-only into the issuer) with its secret in <kiosk>.env.
ensure_secrets() {  # $1: the secrets folder
  local dir="$1" kiosk secret
  mkdir -p "$dir/devices"
  if [ ! -s "$dir/issuer-signing-key.pem" ]; then
    command -v openssl >/dev/null || die "openssl is needed to make the issuer's signing key in $dir"
    openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$dir/issuer-signing-key.pem" 2>/dev/null
    chmod 644 "$dir/issuer-signing-key.pem"   # read by the issuer's unprivileged user (uid 10001) through the mount
    say "made the issuer's signing key $dir/issuer-signing-key.pem"
  fi
  for kiosk in kiosk-1 kiosk-2; do
    [ -s "$dir/$kiosk.env" ] && grep -q "^$kiosk[[:space:]]" "$dir/devices/devices.txt" 2>/dev/null && continue
    # a kiosk whose secret was lost is registered afresh
    [ -f "$dir/devices/devices.txt" ] && sed -i "/^$kiosk[[:space:]]/d" "$dir/devices/devices.txt"
    secret="$("$ROOT/bin/tandem" device add "$kiosk" --file "$dir/devices/devices.txt" 2>/dev/null)" \
      || die "cannot register $kiosk as a device in $dir/devices/devices.txt (try: bin/tandem device add $kiosk --file ...)"
    (umask 077; echo "TANDEM_DEVICE_SECRET=$secret" > "$dir/$kiosk.env")
    say "registered $kiosk as a device of its own ($dir/devices/devices.txt; its secret in $dir/$kiosk.env)"
  done
  chmod 755 "$dir/devices"; chmod 644 "$dir/devices/devices.txt"
}

# Compose refuses to read the file unless every env file and secret it names exists: before the
# first 'up', commands that only look (ps, logs, config, down) get empty placeholders, which 'up'
# replaces with real secrets.
ensure_placeholders() {  # $1: the secrets folder
  mkdir -p "$1/devices"
  local file; for file in kiosk-1.env kiosk-2.env issuer-signing-key.pem devices/devices.txt; do
    [ -e "$1/$file" ] || (umask 077; : > "$1/$file")
  done
}

secrets_dir() {  # the folder docker/.env names, absolute
  local dir; dir="$(sed -n 's/^TANDEM_SECRETS_DIR=//p' "$DOCKER_DIR/.env" | tail -n1)"
  dir="${TANDEM_SECRETS_DIR:-${dir:-./secrets}}"
  case "$dir" in /*) echo "$dir" ;; *) echo "$DOCKER_DIR/${dir#./}" ;; esac
}

# --- Health ----------------------------------------------------------------------------------

wait_healthy() {  # waits until every service's container is healthy; $1: seconds
  local deadline=$((SECONDS + $1)) service id state pending
  while :; do
    pending=()
    for service in "${SERVICES[@]}"; do
      id="$(compose ps -q "$service" 2>/dev/null || true)"
      state="$( [ -n "$id" ] && docker inspect -f '{{.State.Status}}/{{if .State.Health}}{{.State.Health.Status}}{{end}}' "$id" || echo missing/)"
      case "$state" in
        running/healthy) ;;
        exited/*|dead/*|*/unhealthy) say "$service is $state"; return 1 ;;
        *) pending+=("$service:$state") ;;
      esac
    done
    [ ${#pending[@]} -eq 0 ] && return 0
    [ $SECONDS -lt $deadline ] || { say "not healthy after $1 s: ${pending[*]}"; return 1; }
    sleep 2
  done
}

print_urls() {  # from the env file in use
  local env="$1"
  value() { sed -n "s/^$1=//p" "$env" | tail -n1; }
  cat <<READY

  Tandem compose demo is running (docker/compose.yml, values from ${env#"$ROOT"/}):
    kiosk 1         http://localhost:$(value KIOSK1_PORT)/            (pick the route: local, split or cloud)
    kiosk 2 (pi)    http://localhost:$(value KIOSK2_PORT)/
    chat API        http://localhost:$(value KIOSK1_PORT)/v1/chat/completions
    cloud health    http://localhost:$(value CLOUD_PORT)/actuator/health
    issuer          http://localhost:$(value ISSUER_PORT)/.well-known/oauth-authorization-server
    Prometheus      http://localhost:$(value PROMETHEUS_PORT)/targets
  Logs: bin/tandem compose logs -f    Stop: bin/tandem compose down

READY
}

# --- The test ----------------------------------------------------------------------------------

PASSED=0
FAILED=0
check() {  # $1 description, then a command
  local what="$1"; shift
  if "$@"; then PASSED=$((PASSED + 1)); echo "  ok   $what"
  else FAILED=$((FAILED + 1)); echo "  FAIL $what"; fi
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

config_accepted() { compose config -q; }

broken_variant_refused() {  # a compose file whose service depends on one that does not exist
  local broken; broken="$(mktemp "$DOCKER_DIR/.compose-broken.XXXXXX.yml")"
  sed 's/^      cloud:$/      clowd:/' "$COMPOSE_FILE" > "$broken"
  grep -q 'clowd:' "$broken" || { rm -f "$broken"; echo "the broken variant could not be made"; return 1; }
  local out rc=0
  out="$("${COMPOSE[@]}" -f "$broken" config -q 2>&1)" || rc=$?
  rm -f "$broken"
  [ $rc -ne 0 ] && grep -qi 'clowd' <<< "$out" || { echo "    accepted (rc $rc): $out"; return 1; }
}

image_runs_as_non_root() {  # $1 image
  local user uid
  user="$(docker image inspect -f '{{.Config.User}}' "$1")"
  uid="$(docker run --rm --entrypoint id "$1" -u)"
  [ -n "$user" ] && [ "${user%%:*}" != 0 ] && [ "${user%%:*}" != root ] && [ "$uid" != 0 ] \
    || { echo "    $1: User='$user', id -u=$uid"; return 1; }
}

image_has_labels() {  # $1 image
  local labels; labels="$(docker image inspect -f '{{json .Config.Labels}}' "$1")"
  jq -e '(."org.opencontainers.image.version" | length > 0)
         and (."io.tandem.model.source-sha256" | test("^[0-9a-f]{64}$"))
         and (."io.tandem.model.manifest-sha256" | test("^[0-9a-f]{64}$"))' <<< "$labels" >/dev/null \
    || { echo "    $1 labels: $labels"; return 1; }
}

edge_image_under_300mb() {
  local size; size="$(docker image inspect -f '{{.Size}}' "tandem/edge-service:$(tag)")"
  [ "$size" -lt 300000000 ] || { echo "    edge image is $size bytes"; return 1; }
}

no_secret_in_image() {  # $1 image, then the secrets to look for
  local image="$1"; shift
  local dir; dir="$(mktemp -d "${TMPDIR:-/tmp}/tandem-layers.XXXXXX")"
  mkdir -p "$dir/save" "$dir/fs"
  printf '%s\n' "$@" > "$dir/secrets"
  docker history --no-trunc --format '{{.CreatedBy}}' "$image" > "$dir/history"
  docker image inspect "$image" > "$dir/inspect.json"
  docker save "$image" | tar -x -C "$dir/save"
  local layer; for layer in $(find "$dir/save" -name layer.tar); do tar -x -C "$dir/fs" -f "$layer" 2>/dev/null || true; done
  # jars are zip files: look inside them too (a config file with a secret would be compressed there)
  local jar; for jar in $(find "$dir/fs" -name '*.jar'); do
    unzip -p "$jar" '*.yml' '*.yaml' '*.properties' '*.json' '*.pem' > "$dir/jar-$(basename "$jar").txt" 2>/dev/null || true
  done
  local hits; hits="$(grep -rlaF -f "$dir/secrets" "$dir/history" "$dir/inspect.json" "$dir/fs" "$dir"/jar-*.txt 2>/dev/null || true)"
  rm -rf "$dir"
  [ -z "$hits" ] || { echo "    $image holds a secret in: ${hits//$dir/}"; return 1; }
}

chat() {  # $1 port, $2 route: prints route, warnings and content separated by US (0x1f)
  curl -fsS --max-time 60 "http://127.0.0.1:$1/v1/chat/completions" -H 'Content-Type: application/json' \
    -d "{\"messages\":[{\"role\":\"user\",\"content\":\"Once upon a time\"}],\"temperature\":0,\"max_tokens\":24,\"tandem\":{\"route\":\"$2\"}}" \
    | jq -j '[.tandem.route, (.tandem.warnings // [] | join("; ")), .choices[0].message.content] | join("\u001f")'
}

link_up() {  # $1 edge port: the edge's cloud link is connected (readiness does not wait for it)
  local i; for i in $(seq 1 60); do
    curl -fsS "http://127.0.0.1:$1/actuator/health" 2>/dev/null | grep -q '"link":"UP"' && return 0
    sleep 1
  done
  echo "    :$1 link not up: $(curl -sS "http://127.0.0.1:$1/actuator/health" | head -c 400)"; return 1
}

same_greedy_text_everywhere() {  # $1 a kiosk with the cloud's weights (fp32), then kiosks on other profiles
  # Every route answers on every kiosk, as itself and without a warning. The text is the same wherever the
  # weights are: every route of the fp32 kiosk and the cloud route of every kiosk. A kiosk on the Pi profile
  # decodes locally with int4 weights, so its local and split text may differ (docs: config/edge-pi.yml).
  local reference="" port route line got_route warnings content ok=0 first="$1"
  for port in "$@"; do link_up "$port" || ok=1; done
  for port in "$@"; do
    for route in local split cloud; do
      line="$(chat "$port" "$route")" || { echo "    :$port $route: request failed"; ok=1; continue; }
      IFS=$'\x1f' read -r got_route warnings content <<< "$line"
      echo "    :$port $route -> route $got_route: $content"
      [ -z "$reference" ] && reference="$content"
      local must_match=0
      [ "$port" = "$first" ] || [ "$route" = cloud ] && must_match=1
      if [ "$got_route" != "$route" ] || [ -n "$warnings" ] || [ -z "$content" ] \
          || { [ "$must_match" = 1 ] && [ "$content" != "$reference" ]; }; then
        echo "    :$port $route: expected route $route, no warning and$([ "$must_match" = 1 ] && echo " the text above" || echo " some text"); warnings: ${warnings:-none}"; ok=1
      fi
    done
  done
  return $ok
}

prometheus_targets_up() {  # $1 Prometheus port; waits for a scrape of every target
  local i body
  for i in $(seq 1 30); do
    body="$(curl -fsS "http://127.0.0.1:$1/api/v1/targets" 2>/dev/null || true)"
    if [ -n "$body" ] && jq -e '.data.activeTargets | length == 5 and all(.health == "up")' <<< "$body" >/dev/null; then
      jq -r '.data.activeTargets[] | "    \(.labels.job) \(.scrapeUrl) \(.health)"' <<< "$body"; return 0
    fi
    sleep 2
  done
  jq -r '.data.activeTargets[]? | "    \(.labels.job) \(.scrapeUrl) \(.health) \(.lastError)"' <<< "$body"; return 1
}

audit_names_each_device() {  # each kiosk writes its audit trail to its volume (read-only root), naming itself
  local kiosk id
  for kiosk in kiosk-1 kiosk-2; do
    id="$(compose ps -q "$kiosk")"
    docker exec "$id" sh -c 'test -s /var/log/tandem/audit.jsonl && ! touch /app/x 2>/dev/null' \
      || { echo "    $kiosk: no audit trail, or a writable root"; return 1; }
    docker exec "$id" cat /var/log/tandem/audit.jsonl | jq -e -s --arg d "$kiosk" 'length > 0 and all(.device == $d)' >/dev/null \
      || { echo "    $kiosk: audit lines name $(docker exec "$id" cat /var/log/tandem/audit.jsonl | jq -r .device | sort -u | tr '\n' ' ')"; return 1; }
  done
}

run_test() {
  command -v jq >/dev/null || install_packages jq || die "jq is needed (Debian: apt-get install jq)"
  command -v openssl >/dev/null || install_packages openssl || die "openssl is needed"
  command -v unzip >/dev/null || install_packages unzip || die "unzip is needed"
  work="$(mktemp -d "${TMPDIR:-/tmp}/tandem-compose-test.XXXXXX")"   # global: the EXIT trap removes it
  export COMPOSE_PROJECT_NAME="tandem-test-$$"
  local env="$work/test.env"
  ensure_secrets "$work"
  local kiosk1 kiosk2 prom
  kiosk1="$(free_port)"; kiosk2="$(free_port)"; prom="$(free_port)"
  {
    sed -n 's/^TANDEM_TAG=.*/&/p; s/^PI_.*/&/p' "$DOCKER_DIR/.env"
    echo "ISSUER_PORT=$(free_port)"; echo "CLOUD_PORT=$(free_port)"
    echo "KIOSK1_PORT=$kiosk1"; echo "KIOSK2_PORT=$kiosk2"; echo "PROMETHEUS_PORT=$prom"
    echo "TANDEM_SECRETS_DIR=$work"
  } > "$env"
  COMPOSE+=(--env-file "$env")
  cleanup() {
    local rc=$?
    if [ "$rc" -ne 0 ] || [ "$FAILED" -ne 0 ]; then
      echo "--- service logs (last 60 lines each) ---"
      local s; for s in "${SERVICES[@]}"; do echo "--- $s"; compose logs --no-color --tail 60 "$s" 2>&1 || true; done
    fi
    compose down -v --remove-orphans >/dev/null 2>&1 || true
    rm -rf "$work"
  }
  trap cleanup EXIT

  echo "compose test (project $COMPOSE_PROJECT_NAME):"
  check "docker compose config accepts docker/compose.yml" config_accepted
  check "docker compose config refuses a variant that depends on a missing service" broken_variant_refused
  build_images
  local image
  for image in "${TANDEM_IMAGES[@]}"; do
    check "$image runs as a non-root user" image_runs_as_non_root "$image:$(tag)"
    check "$image carries version and model labels" image_has_labels "$image:$(tag)"
  done
  check "tandem/prometheus runs as a non-root user" image_runs_as_non_root "tandem/prometheus:$(tag)"
  check "the edge image is under 300 MB" edge_image_under_300mb
  # this run's device secrets, their hashes and the signing key must be in no layer
  local demo_secrets=("$(sed -n '2p' "$work/issuer-signing-key.pem")"
                      "$(sed -n 's/^TANDEM_DEVICE_SECRET=//p' "$work/kiosk-1.env")"
                      "$(sed -n 's/^TANDEM_DEVICE_SECRET=//p' "$work/kiosk-2.env")"
                      "$(awk '$1 == "kiosk-1" {print $2}' "$work/devices/devices.txt")")
  for image in "${TANDEM_IMAGES[@]}" tandem/prometheus; do
    check "no secret in any layer of $image" no_secret_in_image "$image:$(tag)" "${demo_secrets[@]}"
  done

  echo "  starting the demo..."
  compose up -d --no-build >/dev/null 2>&1 || compose up -d --no-build
  check "every service becomes healthy" wait_healthy 300
  check "every route answers on both kiosks, with the same greedy text wherever the weights are the same" same_greedy_text_everywhere "$kiosk1" "$kiosk2"
  check "Prometheus scrapes every service (5 targets up)" prometheus_targets_up "$prom"
  check "each kiosk is its own device: its audit trail (on its volume, read-only root) names it" audit_names_each_device
  echo "compose: $PASSED passed, $FAILED failed"
  [ "$FAILED" -eq 0 ]
}

# --- Commands --------------------------------------------------------------------------------

cmd="${1:-help}"; [ $# -gt 0 ] && shift
case "$cmd" in
  help|-h|--help) usage ;;
  up)
    ensure_docker
    ensure_secrets "$(secrets_dir)"
    build_images
    compose up -d --no-build "$@"
    say "waiting for every service to be healthy..."
    wait_healthy 300 || { compose ps >&2; die "see: bin/tandem compose logs"; }
    print_urls "$DOCKER_DIR/.env"
    ;;
  down) ensure_docker; ensure_placeholders "$(secrets_dir)"; compose down "$@" ;;
  build) ensure_docker; build_images ;;
  ps|logs|config) ensure_docker; ensure_placeholders "$(secrets_dir)"; compose "$cmd" "$@" ;;
  test) ensure_docker; run_test ;;
  *) say "unknown command '$cmd'"; usage >&2; exit 2 ;;
esac
