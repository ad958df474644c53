# One image per Tandem service, from the jar the Maven build made (bin/tandem compose build, or
# docker/build-images.sh, builds the jars first):
#   docker build -f docker/service.Dockerfile --build-arg SERVICE=edge-service -t tandem/edge-service .
# SERVICE is edge-service, cloud-service or issuer. Nothing here is specific to one CPU: the
# ONNX Runtime and zstd jars carry linux-x64 and linux-aarch64 natives, so the same file builds the
# arm64 edge image (docker buildx build --platform linux/arm64 ...; see docker/README.md).
# No secret and no deployment configuration is baked in: config/<name>.yml is mounted at
# /etc/tandem, secrets come from the environment (docker/.env in the compose demo).
ARG JDK_IMAGE=eclipse-temurin:25-jdk
ARG BASE_IMAGE=debian:bookworm-slim

# A runtime with only the modules the services use (Spring Boot, Netty, ONNX Runtime's JNI loader,
# JFR for diagnostics): about a third of a full JRE.
FROM ${JDK_IMAGE} AS runtime
RUN jlink --output /opt/jre --strip-java-debug-attributes --no-man-pages --no-header-files --compress=zip-6 \
      --add-modules java.base,java.compiler,java.desktop,java.instrument,java.logging,java.management,java.naming,java.net.http,java.prefs,java.rmi,java.scripting,java.security.jgss,java.security.sasl,java.sql,java.xml,java.xml.crypto,jdk.crypto.cryptoki,jdk.crypto.ec,jdk.jfr,jdk.management,jdk.management.jfr,jdk.naming.dns,jdk.net,jdk.unsupported,jdk.zipfs

FROM ${BASE_IMAGE}
ARG SERVICE
ARG VERSION=0.1.0-SNAPSHOT
ARG REVISION=unknown
ARG MODEL_SOURCE_SHA256=unknown
ARG MODEL_GRAPH_SHA256=unknown
ARG MODEL_MANIFEST_SHA256=unknown
LABEL org.opencontainers.image.title="tandem-${SERVICE}" \
      org.opencontainers.image.description="Tandem ${SERVICE}: hybrid edge-cloud LLM inference" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.licenses="MIT" \
      io.tandem.service="${SERVICE}" \
      io.tandem.model.name="stories260K" \
      io.tandem.model.source-sha256="${MODEL_SOURCE_SHA256}" \
      io.tandem.model.graph-sha256="${MODEL_GRAPH_SHA256}" \
      io.tandem.model.manifest-sha256="${MODEL_MANIFEST_SHA256}"

COPY --from=runtime /opt/jre /opt/java/jre
# A fixed, unprivileged uid: Kubernetes' runAsNonRoot can check it, volumes can be chowned to it.
RUN test -n "${SERVICE}" || { echo "build with --build-arg SERVICE=edge-service|cloud-service|issuer" >&2; exit 1; } \
 && echo "tandem:x:10001:10001:Tandem:/app:/usr/sbin/nologin" >> /etc/passwd \
 && echo "tandem:x:10001:" >> /etc/group \
 && mkdir -p /app /etc/tandem /var/log/tandem /models \
 && chown 10001:10001 /var/log/tandem
COPY docker/healthcheck.sh /app/healthcheck
COPY ${SERVICE}/target/${SERVICE}.jar /app/app.jar

ENV JAVA_HOME=/opt/java/jre \
    PATH=/opt/java/jre/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    TANDEM_SERVICE=${SERVICE} \
    TANDEM_AUDIT_PATH=/var/log/tandem/audit.jsonl \
    SPRING_CONFIG_ADDITIONAL_LOCATION=optional:file:/etc/tandem/ \
    MANAGEMENT_ENDPOINT_HEALTH_PROBES_ENABLED=true \
    JAVA_OPTS="-XX:MaxRAMPercentage=75 -XX:InitialRAMPercentage=10 -XX:+ExitOnOutOfMemoryError -XX:+UseSerialGC"
USER 10001:10001
WORKDIR /app
# The services read only their jar, /etc/tandem and /models, and write only /tmp (JNI libraries,
# JVM perf data) and /var/log/tandem (the edge's audit trail): the root filesystem can be read-only.
VOLUME ["/var/log/tandem"]
HEALTHCHECK --interval=5s --timeout=3s --start-period=120s --retries=3 CMD ["/app/healthcheck"]
ENTRYPOINT ["/bin/sh", "-c", "exec java $JAVA_OPTS --enable-native-access=ALL-UNNAMED --sun-misc-unsafe-memory-access=allow -jar /app/app.jar \"$@\"", "tandem"]
