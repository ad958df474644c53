package io.tandem.e2e.deploy;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Predicate;
import tools.jackson.databind.JsonNode;

/**
 * The fields the Kubernetes API requires of each kind these manifests use (a server would refuse a
 * manifest without them), plus the references between objects that a cluster would only reveal at
 * run time: a Service or PodDisruptionBudget that selects no workload, an autoscaler aimed at a
 * missing Deployment, a container port name a probe or Service does not find. No cluster runs here,
 * so this is the check that stands in for {@code kubectl apply --dry-run=server}.
 */
final class ManifestRules {

    private static final Set<String> KNOWN_KINDS = Set.of("Namespace", "Deployment", "DaemonSet", "Service",
            "HorizontalPodAutoscaler", "PodDisruptionBudget", "NetworkPolicy", "ConfigMap", "Secret");
    private static final Map<String, String> API_VERSIONS = Map.of("Namespace", "v1", "Deployment", "apps/v1",
            "DaemonSet", "apps/v1", "Service", "v1", "HorizontalPodAutoscaler", "autoscaling/v2",
            "PodDisruptionBudget", "policy/v1", "NetworkPolicy", "networking.k8s.io/v1", "ConfigMap", "v1",
            "Secret", "v1");

    private ManifestRules() {
    }

    /** Every problem found in one set of objects that are applied together; empty when there is none. */
    static List<String> problems(List<JsonNode> objects) {
        List<String> problems = new ArrayList<>();
        for (JsonNode object : objects) {
            String kind = object.path("kind").asString("");
            String name = object.path("metadata").path("name").asString("");
            String where = kind + "/" + (name.isEmpty() ? "?" : name);
            if (!KNOWN_KINDS.contains(kind)) {
                problems.add(where + ": unexpected kind '" + kind + "'");
                continue;
            }
            if (!API_VERSIONS.get(kind).equals(object.path("apiVersion").asString(""))) {
                problems.add(where + ": apiVersion must be " + API_VERSIONS.get(kind));
            }
            if (!name.matches("[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?")) {
                problems.add(where + ": metadata.name must be a DNS-1123 name");
            }
            switch (kind) {
                case "Deployment", "DaemonSet" -> workload(object, where, problems);
                case "Service" -> service(object, objects, where, problems);
                case "HorizontalPodAutoscaler" -> autoscaler(object, objects, where, problems);
                case "PodDisruptionBudget" -> disruptionBudget(object, objects, where, problems);
                case "NetworkPolicy" -> require(object, "spec.podSelector", JsonNode::isObject, where, problems);
                case "ConfigMap", "Secret", "Namespace" -> { }
                default -> throw new IllegalStateException(kind);
            }
        }
        return problems;
    }

    private static void workload(JsonNode object, String where, List<String> problems) {
        JsonNode selector = object.path("spec").path("selector").path("matchLabels");
        JsonNode labels = object.path("spec").path("template").path("metadata").path("labels");
        if (!selector.isObject() || selector.isEmpty()) {
            problems.add(where + ": spec.selector.matchLabels is required");
        } else if (!matches(selector, labels)) {
            problems.add(where + ": spec.selector does not match spec.template.metadata.labels");
        }
        JsonNode containers = object.path("spec").path("template").path("spec").path("containers");
        if (!containers.isArray() || containers.isEmpty()) {
            problems.add(where + ": spec.template.spec.containers needs at least one container");
            return;
        }
        for (JsonNode container : containers) {
            String at = where + " container " + container.path("name").asString("?");
            require(container, "name", JsonNode::isString, at, problems);
            require(container, "image", n -> n.isString() && !n.asString().isBlank(), at, problems);
            Set<String> portNames = new java.util.HashSet<>();
            for (JsonNode port : container.path("ports")) {
                int number = port.path("containerPort").asInt(-1);
                if (number < 1 || number > 65535) {
                    problems.add(at + ": ports[].containerPort must be 1-65535");
                }
                if (port.has("name")) {
                    portNames.add(port.path("name").asString());
                }
            }
            for (String probe : List.of("readinessProbe", "livenessProbe", "startupProbe")) {
                JsonNode port = container.path(probe).path("httpGet").path("port");
                if (port.isString() && !portNames.contains(port.asString())) {
                    problems.add(at + ": " + probe + " names port '" + port.asString() + "', which the container lacks");
                }
            }
        }
    }

    private static void service(JsonNode service, List<JsonNode> objects, String where, List<String> problems) {
        JsonNode ports = service.path("spec").path("ports");
        if (!ports.isArray() || ports.isEmpty()) {
            problems.add(where + ": spec.ports needs at least one port");
        }
        for (JsonNode port : ports) {
            if (port.path("port").asInt(-1) < 1) {
                problems.add(where + ": spec.ports[].port is required");
            }
        }
        JsonNode selector = service.path("spec").path("selector");
        List<JsonNode> selected = selectedWorkloads(selector, objects);
        if (selected.isEmpty()) {
            problems.add(where + ": spec.selector selects no Deployment or DaemonSet");
            return;
        }
        for (JsonNode port : ports) {
            JsonNode target = port.path("targetPort");
            if (target.isString() && selected.stream().noneMatch(w -> hasPortNamed(w, target.asString()))) {
                problems.add(where + ": targetPort '" + target.asString() + "' is no container port of what it selects");
            }
        }
    }

    private static void autoscaler(JsonNode hpa, List<JsonNode> objects, String where, List<String> problems) {
        JsonNode target = hpa.path("spec").path("scaleTargetRef");
        String kind = target.path("kind").asString("");
        String name = target.path("name").asString("");
        boolean exists = objects.stream().anyMatch(o -> o.path("kind").asString("").equals(kind)
                && o.path("metadata").path("name").asString("").equals(name));
        if (!exists) {
            problems.add(where + ": spec.scaleTargetRef " + kind + "/" + name + " is not among the manifests");
        }
        int max = hpa.path("spec").path("maxReplicas").asInt(0);
        int min = hpa.path("spec").path("minReplicas").asInt(1);
        if (max < 1 || min < 1 || min > max) {
            problems.add(where + ": need 1 <= spec.minReplicas <= spec.maxReplicas");
        }
        if (!hpa.path("spec").path("metrics").isArray() || hpa.path("spec").path("metrics").isEmpty()) {
            problems.add(where + ": spec.metrics is empty");
        }
    }

    private static void disruptionBudget(JsonNode pdb, List<JsonNode> objects, String where, List<String> problems) {
        if (pdb.path("spec").has("minAvailable") == pdb.path("spec").has("maxUnavailable")) {
            problems.add(where + ": exactly one of spec.minAvailable and spec.maxUnavailable is required");
        }
        if (selectedWorkloads(pdb.path("spec").path("selector").path("matchLabels"), objects).isEmpty()) {
            problems.add(where + ": spec.selector selects no Deployment or DaemonSet");
        }
    }

    static List<JsonNode> selectedWorkloads(JsonNode selector, List<JsonNode> objects) {
        if (!selector.isObject() || selector.isEmpty()) {
            return List.of();
        }
        return objects.stream()
                .filter(o -> Set.of("Deployment", "DaemonSet").contains(o.path("kind").asString("")))
                .filter(o -> matches(selector, o.path("spec").path("template").path("metadata").path("labels")))
                .toList();
    }

    private static boolean hasPortNamed(JsonNode workload, String name) {
        for (JsonNode container : workload.path("spec").path("template").path("spec").path("containers")) {
            for (JsonNode port : container.path("ports")) {
                if (name.equals(port.path("name").asString(""))) {
                    return true;
                }
            }
        }
        return false;
    }

    private static boolean matches(JsonNode selector, JsonNode labels) {
        for (Map.Entry<String, JsonNode> entry : selector.properties()) {
            if (!entry.getValue().asString("").equals(labels.path(entry.getKey()).asString(null))) {
                return false;
            }
        }
        return true;
    }

    private static void require(JsonNode object, String path, Predicate<JsonNode> valid, String where,
                                List<String> problems) {
        JsonNode node = object;
        for (String part : path.split("\\.")) {
            node = node.path(part);
        }
        if (node.isMissingNode() || node.isNull() || !valid.test(node)) {
            problems.add(where + ": " + path + " is required");
        }
    }
}
