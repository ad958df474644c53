package io.tandem.model.constrain;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import tools.jackson.core.JacksonException;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * What the output must be: any JSON object ({@code json_object}) or JSON that a schema admits
 * ({@code json_schema}). Travels as it is (the schema as compact JSON text) to wherever the tokens
 * are chosen, which compiles it against its own vocabulary ({@link ConstrainedVocabulary}).
 */
public record OutputConstraint(Kind kind, String schema) {

    public enum Kind {
        JSON_OBJECT(1), JSON_SCHEMA(2),
        /**
         * A call of one of several tools, as a chat template asks for it: {@code schema} is
         * {@code {"prefix": text, "suffix": text, "tools": [{"name", "parameters"}]}}, and the output is the
         * prefix, {@code {"name": NAME, "arguments": ARGS}} with ARGS valid for that tool, then the suffix.
         */
        TOOL_CALL(3);

        private final int wireCode;

        Kind(int wireCode) {
            this.wireCode = wireCode;
        }

        public int wireCode() {
            return wireCode;
        }

        public static Kind fromWire(int code) {
            for (Kind k : values()) {
                if (k.wireCode == code) {
                    return k;
                }
            }
            throw new IllegalArgumentException("unknown constraint kind " + code);
        }
    }

    static final JsonMapper JSON = JsonMapper.builder().build();
    private static final Set<String> IGNORED = Set.of("title", "description", "default", "examples", "$schema", "$comment",
            "additionalProperties", "strict", "nullable");

    public OutputConstraint {
        Objects.requireNonNull(kind, "kind");
        if (kind == Kind.JSON_OBJECT) {
            schema = "";
        } else {
            Objects.requireNonNull(schema, "schema");
            compile(kind, schema); // refuse what cannot be enforced before it travels anywhere
        }
    }

    public static OutputConstraint jsonObject() {
        return new OutputConstraint(Kind.JSON_OBJECT, "");
    }

    public static OutputConstraint jsonSchema(String schema) {
        return new OutputConstraint(Kind.JSON_SCHEMA, schema);
    }

    /** One call of one of {@code tools} (name to parameters schema), between {@code prefix} and {@code suffix}. */
    public static OutputConstraint toolCall(String prefix, String suffix, Map<String, JsonNode> tools) {
        var spec = JSON.createObjectNode();
        spec.put("prefix", prefix);
        spec.put("suffix", suffix);
        var list = spec.putArray("tools");
        tools.forEach((name, parameters) -> {
            var tool = list.addObject();
            tool.put("name", name);
            tool.set("parameters", parameters);
        });
        return new OutputConstraint(Kind.TOOL_CALL, spec.toString());
    }

    /** Whether the schema text travels with the kind (json_object needs none). */
    public boolean hasText() {
        return kind != Kind.JSON_OBJECT;
    }

    Shape shape() {
        return compile(kind, schema);
    }

    private static Shape compile(Kind kind, String schema) {
        if (kind == Kind.JSON_OBJECT) {
            return new Shape.AnyObj();
        }
        JsonNode root;
        try {
            root = JSON.readTree(schema);
        } catch (JacksonException e) {
            throw new SchemaException("schema", "the schema is not valid JSON");
        }
        if (kind == Kind.TOOL_CALL) {
            return toolCall(root);
        }
        Shape shape = shape(root, "schema");
        if (!(shape instanceof Shape.Obj) && !(shape instanceof Shape.AnyObj)) {
            throw new SchemaException("schema.type", "the schema's root must be an object (type: object)");
        }
        return shape;
    }

    private static Shape toolCall(JsonNode spec) {
        List<Shape> calls = new ArrayList<>();
        JsonNode tools = spec.get("tools");
        if (tools == null || !tools.isArray() || tools.isEmpty()) {
            throw new SchemaException("tools", "a tool call needs at least one tool");
        }
        for (int i = 0; i < tools.size(); i++) {
            JsonNode tool = tools.get(i);
            String name = tool.get("name").stringValue();
            JsonNode parameters = tool.get("parameters");
            Shape arguments = parameters == null || parameters.isNull() ? new Shape.AnyObj()
                    : shape(parameters, "tools[" + i + "].function.parameters");
            calls.add(new Shape.Obj(List.of(Shape.Prop.of("name", new Shape.Lit(List.of(literal(tool.get("name")))), true),
                    Shape.Prop.of("arguments", arguments, true))));
        }
        List<Shape> parts = new ArrayList<>();
        String prefix = spec.path("prefix").asString("");
        String suffix = spec.path("suffix").asString("");
        if (!prefix.isEmpty()) {
            parts.add(new Shape.Lit(List.of(prefix.getBytes(StandardCharsets.UTF_8))));
        }
        parts.add(calls.size() == 1 ? calls.getFirst() : new Shape.AnyOf(calls));
        if (!suffix.isEmpty()) {
            parts.add(new Shape.Lit(List.of(suffix.getBytes(StandardCharsets.UTF_8))));
        }
        return parts.size() == 1 ? parts.getFirst() : new Shape.Seq(parts);
    }

    private static Shape shape(JsonNode node, String path) {
        if (!node.isObject()) {
            throw new SchemaException(path, path + " must be a schema object");
        }
        for (Iterator<String> names = node.propertyNames().iterator(); names.hasNext(); ) {
            String name = names.next();
            if (!IGNORED.contains(name) && !Set.of("type", "properties", "required", "items", "minItems", "maxItems", "enum",
                    "const", "minLength", "maxLength", "anyOf").contains(name)) {
                throw new SchemaException(path + "." + name, "the schema keyword '" + name + "' (at " + path
                        + ") cannot be enforced while decoding; supported are type, properties, required,"
                        + " additionalProperties, items, minItems, maxItems, enum, const, minLength, maxLength, anyOf");
            }
        }
        if (node.has("const")) {
            return new Shape.Lit(List.of(literal(node.get("const"))));
        }
        if (node.has("enum")) {
            JsonNode values = node.get("enum");
            if (!values.isArray() || values.isEmpty()) {
                throw new SchemaException(path + ".enum", path + ".enum must be a non-empty array");
            }
            List<byte[]> options = new ArrayList<>();
            for (JsonNode v : values) {
                options.add(literal(v));
            }
            return new Shape.Lit(options);
        }
        if (node.has("anyOf")) {
            JsonNode options = node.get("anyOf");
            if (!options.isArray() || options.isEmpty()) {
                throw new SchemaException(path + ".anyOf", path + ".anyOf must be a non-empty array of schemas");
            }
            List<Shape> shapes = new ArrayList<>();
            for (int i = 0; i < options.size(); i++) {
                shapes.add(shape(options.get(i), path + ".anyOf[" + i + "]"));
            }
            return new Shape.AnyOf(shapes);
        }
        JsonNode type = node.get("type");
        if (type == null) {
            throw new SchemaException(path + ".type", path + " needs a type (or enum, const, anyOf)");
        }
        if (type.isArray()) {
            List<Shape> shapes = new ArrayList<>();
            for (JsonNode t : type) {
                shapes.add(typed(node, t, path));
            }
            return shapes.size() == 1 ? shapes.getFirst() : new Shape.AnyOf(shapes);
        }
        return typed(node, type, path);
    }

    private static Shape typed(JsonNode node, JsonNode type, String path) {
        String t = type.isString() ? type.stringValue() : "";
        return switch (t) {
            case "object" -> object(node, path);
            case "array" -> {
                JsonNode items = node.get("items");
                Shape item = items == null ? new Shape.AnyValue() : shape(items, path + ".items");
                int min = count(node, "minItems", path, 0);
                int max = count(node, "maxItems", path, Integer.MAX_VALUE);
                yield new Shape.Arr(item, min, max);
            }
            case "string" -> new Shape.Str(count(node, "minLength", path, 0), count(node, "maxLength", path, Integer.MAX_VALUE));
            case "number" -> new Shape.Num(false);
            case "integer" -> new Shape.Num(true);
            case "boolean" -> new Shape.Lit(List.of(ascii("true"), ascii("false")));
            case "null" -> new Shape.Lit(List.of(ascii("null")));
            default -> throw new SchemaException(path + ".type", path + ".type must be object, array, string, number,"
                    + " integer, boolean or null, was " + type);
        };
    }

    private static Shape object(JsonNode node, String path) {
        JsonNode properties = node.get("properties");
        if (properties == null) {
            return new Shape.AnyObj();
        }
        if (!properties.isObject()) {
            throw new SchemaException(path + ".properties", path + ".properties must be an object");
        }
        Set<String> required = new HashSet<>();
        JsonNode req = node.get("required");
        if (req != null) {
            for (JsonNode r : req) {
                if (!r.isString() || !properties.has(r.stringValue())) {
                    throw new SchemaException(path + ".required", path + ".required names " + r + ", which is not a property");
                }
                required.add(r.stringValue());
            }
        }
        List<Shape.Prop> props = new ArrayList<>();
        for (Map.Entry<String, JsonNode> e : properties.properties()) {
            props.add(Shape.Prop.of(e.getKey(), shape(e.getValue(), path + ".properties." + e.getKey()),
                    required.contains(e.getKey())));
        }
        if (props.size() > 62) {
            throw new SchemaException(path + ".properties", path + " has more than 62 properties");
        }
        return new Shape.Obj(props);
    }

    private static int count(JsonNode node, String field, String path, int fallback) {
        JsonNode v = node.get(field);
        if (v == null) {
            return fallback;
        }
        if (!v.isIntegralNumber() || !v.canConvertToInt() || v.intValue() < 0) {
            throw new SchemaException(path + "." + field, path + "." + field + " must be a non-negative integer");
        }
        return v.intValue();
    }

    private static byte[] literal(JsonNode value) {
        return JSON.writeValueAsString(value).getBytes(StandardCharsets.UTF_8);
    }

    private static byte[] ascii(String s) {
        return s.getBytes(StandardCharsets.US_ASCII);
    }

    /** A schema the decoder cannot enforce, naming where in it the problem is. */
    public static final class SchemaException extends IllegalArgumentException {
        private final String path;

        public SchemaException(String path, String message) {
            super(message);
            this.path = path;
        }

        public String path() {
            return path;
        }
    }
}
