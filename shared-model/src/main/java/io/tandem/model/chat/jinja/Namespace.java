package io.tandem.model.chat.jinja;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Jinja2's {@code namespace(...)}: the one mutable object a template may assign attributes on
 * ({@code {% set ns.found = true %}}), which is how a value survives a for loop's scope.
 */
final class Namespace {

    final Map<String, Object> attributes = new LinkedHashMap<>();

    @Override
    public String toString() {
        return "<Namespace " + Py.repr(attributes) + ">";
    }
}
