#!/bin/bash
# Docker HEALTHCHECK: healthy while the service's Actuator readiness probe answers UP. Plain bash
# (/dev/tcp), since the image carries no curl. The port is the service's SERVER_PORT, else its
# default.
case "${TANDEM_SERVICE:-}" in
  cloud-service) default_port=8081 ;;
  issuer) default_port=9000 ;;
  *) default_port=8080 ;;
esac
port="${SERVER_PORT:-$default_port}"
exec 3<>"/dev/tcp/127.0.0.1/$port" || exit 1
printf 'GET /actuator/health/readiness HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n' >&3
response="$(timeout 2 cat <&3)"
case "$response" in
  "HTTP/1.1 200"*'"status":"UP"'*) exit 0 ;;
  *) echo "readiness on :$port: ${response%%$'\r'*}"; exit 1 ;;
esac
