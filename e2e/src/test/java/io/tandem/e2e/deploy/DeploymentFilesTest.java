package io.tandem.e2e.deploy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.tandem.e2e.ServiceProcess;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.Yaml;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * The deployment files (docker/compose.yml, the Kubernetes manifests under deploy/k8s and the
 * systemd unit) against the Kubernetes API's required fields and against each other: the same
 * images, the ports the services' own configuration listens on, the user the images run as, and
 * the configuration copies kustomize needs equal to config/. No cluster runs here; the overlays are
 * rendered with {@code kubectl kustomize} where kubectl is installed.
 */
class DeploymentFilesTest {

    private static final Path ROOT = ServiceProcess.repositoryRoot();
    private static final Path K8S = ROOT.resolve("deploy/k8s");
    private static final JsonMapper JSON = JsonMapper.builder().build();
    /** compose service, image repository, config name: what runs where. */
    private static final Map<String, String[]> SERVICES = Map.of(
            "issuer", new String[] { "tandem/issuer", "issuer" },
            "cloud", new String[] { "tandem/cloud-service", "cloud" },
            "kiosk-1", new String[] { "tandem/edge-service", "edge" },
            "kiosk-2", new String[] { "tandem/edge-service", "edge" });
    private static final Map<String, String> CONFIG_OF_IMAGE = Map.of("tandem/issuer", "issuer",
            "tandem/cloud-service", "cloud", "tandem/edge-service", "edge");

    @Test
    void everyRenderedOverlayHasWhatTheKubernetesApiRequires() throws Exception {
        for (Path kustomization : kustomizations()) {
            List<JsonNode> objects = render(kustomization.getParent());
            assertThat(objects).as(kustomization.toString()).isNotEmpty();
            assertThat(ManifestRules.problems(objects)).as(ROOT.relativize(kustomization).toString()).isEmpty();
        }
    }

    @Test
    void brokenManifestsAreRefusedNamingTheField() throws Exception {
        List<JsonNode> good = render(K8S.resolve("cloud/base"));
        assertThat(ManifestRules.problems(good)).isEmpty();

        assertThat(ManifestRules.problems(edited(good, "Deployment", "tandem-cloud",
                d -> ((tools.jackson.databind.node.ObjectNode) d.path("spec")).remove("selector"))))
            .anySatisfy(p -> assertThat(p).contains("Deployment/tandem-cloud").contains("spec.selector"));
        assertThat(ManifestRules.problems(edited(good, "Deployment", "tandem-cloud",
                d -> ((tools.jackson.databind.node.ObjectNode) d.path("spec").path("template").path("spec")
                        .path("containers").get(0)).remove("image"))))
            .anySatisfy(p -> assertThat(p).contains("container cloud").contains("image is required"));
        assertThat(ManifestRules.problems(edited(good, "HorizontalPodAutoscaler", "tandem-cloud",
                h -> ((tools.jackson.databind.node.ObjectNode) h.path("spec").path("scaleTargetRef"))
                        .put("name", "tandem-clowd"))))
            .anySatisfy(p -> assertThat(p).contains("scaleTargetRef Deployment/tandem-clowd"));
        assertThat(ManifestRules.problems(edited(good, "Service", "tandem-cloud",
                s -> ((tools.jackson.databind.node.ObjectNode) s.path("spec").path("selector"))
                        .put("app.kubernetes.io/name", "nothing"))))
            .anySatisfy(p -> assertThat(p).contains("Service/tandem-cloud").contains("selects no"));
        assertThat(ManifestRules.problems(edited(good, "PodDisruptionBudget", "tandem-cloud",
                p -> ((tools.jackson.databind.node.ObjectNode) p.path("spec")).put("maxUnavailable", 1))))
            .anySatisfy(p -> assertThat(p).contains("exactly one of spec.minAvailable"));
        assertThat(ManifestRules.problems(edited(good, "Deployment", "tandem-cloud",
                d -> ((tools.jackson.databind.node.ObjectNode) d).put("apiVersion", "extensions/v1beta1"))))
            .anySatisfy(p -> assertThat(p).contains("apiVersion must be apps/v1"));
    }

    @Test
    void composeImagesAndPortsAgreeWithTheServicesConfiguration() throws IOException {
        JsonNode compose = yaml(ROOT.resolve("docker/compose.yml")).getFirst();
        for (Map.Entry<String, String[]> entry : SERVICES.entrySet()) {
            JsonNode service = compose.path("services").path(entry.getKey());
            assertThat(service.isObject()).as("compose service " + entry.getKey()).isTrue();
            assertThat(repository(service.path("image").asString())).as(entry.getKey()).isEqualTo(entry.getValue()[0]);
            int port = serverPort(entry.getValue()[1]);
            assertThat(service.path("ports").get(0).asString()).as(entry.getKey() + " ports").endsWith(":" + port);
            // read-only root: the JNI libraries need an executable /tmp
            assertThat(service.path("read_only").asBoolean(false)).as(entry.getKey() + " read_only").isTrue();
            assertThat(service.path("tmpfs").toString()).as(entry.getKey() + " tmpfs").contains("/tmp:exec");
        }
        assertThat(compose.path("services").path("kiosk-2").path("environment").path("SPRING_PROFILES_ACTIVE")
                .asString()).isEqualTo("pi");
        assertThat(compose.path("services").path("kiosk-2").has("mem_limit")).isTrue();
        // each kiosk is a device of its own
        assertThat(compose.path("services").path("kiosk-1").path("environment").path("TANDEM_DEVICE_ID").asString())
                .isEqualTo("kiosk-1");
        assertThat(compose.path("services").path("kiosk-2").path("environment").path("TANDEM_DEVICE_ID").asString())
                .isEqualTo("kiosk-2");
        // the edges reach the cloud where it listens, on the agent path the cloud serves
        String agentPath = yaml(ROOT.resolve("config/cloud.yml")).getFirst()
                .path("tandem").path("cloud").path("agent").path("path").asString();
        assertThat(compose.path("x-edge-environment").path("TANDEM_LINK_URL").asString())
                .isEqualTo("ws://cloud:" + serverPort("cloud") + agentPath);
        // Prometheus scrapes each service on its own port
        String scrape = Files.readString(ROOT.resolve("docker/prometheus/prometheus.yml"));
        assertThat(scrape).contains("issuer:" + serverPort("issuer"), "cloud:" + serverPort("cloud"),
                "kiosk-1:" + serverPort("edge"), "kiosk-2:" + serverPort("edge"));
    }

    @Test
    void kubernetesWorkloadsRunTheComposeImagesOnTheConfiguredPortsAsTheImageUser() throws Exception {
        String imageUser = dockerfileUser();
        for (Path kustomization : kustomizations()) {
            for (JsonNode workload : render(kustomization.getParent())) {
                if (!List.of("Deployment", "DaemonSet").contains(workload.path("kind").asString())) {
                    continue;
                }
                String where = ROOT.relativize(kustomization.getParent()) + " " + workload.path("metadata").path("name").asString();
                JsonNode pod = workload.path("spec").path("template");
                JsonNode container = pod.path("spec").path("containers").get(0);
                String image = repository(container.path("image").asString());
                String config = CONFIG_OF_IMAGE.entrySet().stream().filter(e -> image.endsWith(e.getKey()))
                        .map(Map.Entry::getValue).findFirst().orElse(null);
                assertThat(config).as(where + " runs an image of the compose file: " + image).isNotNull();
                int port = serverPort(config);
                assertThat(container.path("ports").get(0).path("containerPort").asInt()).as(where).isEqualTo(port);
                assertThat(pod.path("metadata").path("annotations").path("prometheus.io/port").asString())
                        .as(where).isEqualTo(String.valueOf(port));
                assertThat(container.path("readinessProbe").path("httpGet").path("path").asString())
                        .isEqualTo("/actuator/health/readiness");
                assertThat(container.path("env").toString()).as(where).contains("application," + config);
                JsonNode security = pod.path("spec").path("securityContext");
                assertThat(security.path("runAsNonRoot").asBoolean()).as(where).isTrue();
                assertThat(security.path("runAsUser").asInt() + ":" + security.path("runAsGroup").asInt())
                        .as(where).isEqualTo(imageUser);
                assertThat(container.path("securityContext").path("readOnlyRootFilesystem").asBoolean()).as(where).isTrue();
                assertThat(container.path("volumeMounts").toString()).as(where).contains("\"/tmp\"", "\"/etc/tandem\"");
            }
        }
    }

    @Test
    void theEdgeFleetRunsOnArm64KiosksAndTheCloudScalesOnAMetricItExports() throws Exception {
        JsonNode edge = render(K8S.resolve("edge-fleet/overlays/k3s-pi")).stream()
                .filter(o -> o.path("kind").asString().equals("DaemonSet")).findFirst().orElseThrow();
        assertThat(edge.path("spec").path("template").path("spec").path("nodeSelector").path("kubernetes.io/arch")
                .asString()).isEqualTo("arm64");
        assertThat(edge.path("spec").path("template").path("spec").path("containers").get(0).path("resources")
                .path("limits").path("memory").asString()).isNotEmpty();
        // each kiosk authenticates as itself: its identity is read from the node, not shared in one Secret
        assertThat(edge.toString()).contains("configtree:/etc/tandem-device/", "/etc/tandem/device")
                .doesNotContain("secretKeyRef");

        List<JsonNode> cloud = render(K8S.resolve("cloud/overlays/production"));
        JsonNode hpa = cloud.stream().filter(o -> o.path("kind").asString().equals("HorizontalPodAutoscaler"))
                .findFirst().orElseThrow();
        String metric = hpa.path("spec").path("metrics").get(0).path("pods").path("metric").path("name").asString();
        // Micrometer exports tandem.cloud.queue.depth as tandem_cloud_queue_depth
        String micrometerName = metric.replace('_', '.');
        try (Stream<Path> sources = Files.walk(ROOT.resolve("cloud-service/src/main/java"))) {
            assertThat(sources.filter(p -> p.toString().endsWith(".java")).anyMatch(p -> read(p).contains("\"" + micrometerName + "\"")))
                    .as("cloud-service registers " + micrometerName).isTrue();
        }
        assertThat(cloud.stream().map(o -> o.path("kind").asString()))
                .contains("Deployment", "Service", "HorizontalPodAutoscaler", "PodDisruptionBudget", "NetworkPolicy");
    }

    @Test
    void configurationCopiesForKustomizeEqualConfigAndTheClusterIssuerRegistersNoDemoClient() throws IOException {
        for (String[] copy : new String[][] { { "cloud/base/cloud.yml", "cloud.yml" },
                { "edge-fleet/base/edge.yml", "edge.yml" }, { "edge-fleet/base/edge-pi.yml", "edge-pi.yml" } }) {
            assertThat(Files.readString(K8S.resolve(copy[0]))).as("deploy/k8s/" + copy[0] + " must be a copy of config/" + copy[1]
                            + " (kustomize reads nothing outside its folder): cp config/" + copy[1] + " deploy/k8s/" + copy[0])
                    .isEqualTo(Files.readString(ROOT.resolve("config").resolve(copy[1])));
        }
        JsonNode clusterIssuer = yaml(K8S.resolve("cloud/base/issuer.yml")).getFirst();
        assertThat(clusterIssuer.path("server").path("port").asInt()).isEqualTo(serverPort("issuer"));
        assertThat(clusterIssuer.toString()).doesNotContain("client-secret", "authorizationserver");
    }

    @Test
    void theSystemdUnitRunsTheEdgeJarAsAnUnprivilegedUserWithItsEnvFile() throws IOException {
        String unit = Files.readString(ROOT.resolve("deploy/systemd/tandem-edge.service"));
        Map<String, List<String>> keys = new LinkedHashMap<>();
        String section = "";
        List<String> sections = new ArrayList<>();
        for (String line : unit.split("\n")) {
            line = line.strip();
            if (line.isEmpty() || line.startsWith("#")) {
                continue;
            }
            if (line.startsWith("[")) {
                section = line;
                sections.add(line);
                continue;
            }
            assertThat(line).as("a unit line is key=value: " + line).contains("=");
            keys.computeIfAbsent(section + line.substring(0, line.indexOf('=')), k -> new ArrayList<>())
                    .add(line.substring(line.indexOf('=') + 1));
        }
        assertThat(sections).containsExactly("[Unit]", "[Service]", "[Install]");
        assertThat(keys.get("[Service]User")).singleElement().isNotIn("root", "0");
        assertThat(keys.get("[Service]ExecStart")).singleElement().asString()
                .contains("-jar /opt/tandem/edge-service.jar", "--spring.config.name=application,edge");
        assertThat(keys.get("[Service]EnvironmentFile")).containsExactly("/etc/tandem/tandem-edge.env");
        assertThat(keys.get("[Install]WantedBy")).containsExactly("multi-user.target");

        Map<String, String> env = new LinkedHashMap<>();
        for (String line : Files.readAllLines(ROOT.resolve("deploy/systemd/tandem-edge.env"))) {
            if (!line.isBlank() && !line.startsWith("#")) {
                assertThat(line).matches("[A-Z_][A-Z0-9_]*=.*");
                env.put(line.substring(0, line.indexOf('=')), line.substring(line.indexOf('=') + 1));
            }
        }
        assertThat(env.get("SPRING_PROFILES_ACTIVE")).isEqualTo("pi");
        assertThat(env).containsKeys("TANDEM_DEVICE_ID", "TANDEM_DEVICE_SECRET");
        // the names config/edge.yml reads the device's identity from
        assertThat(Files.readString(ROOT.resolve("config/edge.yml"))).contains("${TANDEM_DEVICE_SECRET");
        JsonNode link = JSON.readTree(env.get("SPRING_APPLICATION_JSON"));
        assertThat(link.has("spring.security.oauth2.client.provider.tandem-cloud.token-uri")).isTrue();
    }

    // --- helpers ---------------------------------------------------------------------------------

    private static List<Path> kustomizations() throws IOException {
        try (Stream<Path> files = Files.walk(K8S)) {
            List<Path> found = files.filter(p -> p.getFileName().toString().equals("kustomization.yaml")).sorted().toList();
            assertThat(found).hasSizeGreaterThanOrEqualTo(4);
            return found;
        }
    }

    /** {@code kubectl kustomize DIR}, parsed; skipped where kubectl is not installed. */
    private static List<JsonNode> render(Path dir) throws Exception {
        Process kubectl;
        try {
            kubectl = new ProcessBuilder("kubectl", "kustomize", dir.toString()).redirectErrorStream(true).start();
        } catch (IOException notInstalled) {
            assumeTrue(false, "kubectl is not installed: the overlays cannot be rendered here");
            throw notInstalled;
        }
        String out = new String(kubectl.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(kubectl.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(kubectl.exitValue()).as("kubectl kustomize " + dir + ":\n" + out).isZero();
        return parse(out);
    }

    private static List<JsonNode> yaml(Path file) throws IOException {
        return parse(Files.readString(file));
    }

    private static List<JsonNode> parse(String text) {
        List<JsonNode> documents = new ArrayList<>();
        for (Object document : new Yaml(new LoaderOptions()).loadAll(text)) {
            if (document != null) {
                documents.add(JSON.valueToTree(document));
            }
        }
        return documents;
    }

    private static List<JsonNode> edited(List<JsonNode> objects, String kind, String name,
                                         java.util.function.Consumer<JsonNode> edit) {
        List<JsonNode> copy = objects.stream().map(JsonNode::deepCopy).toList();
        JsonNode target = copy.stream().filter(o -> o.path("kind").asString().equals(kind)
                && o.path("metadata").path("name").asString().equals(name)).findFirst().orElseThrow();
        edit.accept(target);
        return copy;
    }

    private static int serverPort(String configName) throws IOException {
        int port = yaml(ROOT.resolve("config").resolve(configName + ".yml")).getFirst().path("server").path("port").asInt(0);
        assertThat(port).as("server.port in config/" + configName + ".yml").isPositive();
        return port;
    }

    /** The image repository without registry host and tag: registry.example.com/tandem/x:1 and tandem/x:${TAG} -> tandem/x. */
    private static String repository(String image) {
        String withoutTag = image.replaceAll("\\$\\{[^}]*}", "").replaceFirst(":[^/]*$", "");
        String[] parts = withoutTag.split("/");
        return parts.length > 2 ? parts[parts.length - 2] + "/" + parts[parts.length - 1] : withoutTag;
    }

    private static String dockerfileUser() throws IOException {
        Matcher user = Pattern.compile("(?m)^USER (\\d+:\\d+)$").matcher(Files.readString(ROOT.resolve("docker/service.Dockerfile")));
        assertThat(user.find()).as("service.Dockerfile sets a numeric USER").isTrue();
        return user.group(1);
    }

    private static String read(Path file) {
        try {
            return Files.readString(file);
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }
}
