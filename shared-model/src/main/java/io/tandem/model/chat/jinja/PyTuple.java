package io.tandem.model.chat.jinja;

import java.util.AbstractList;
import java.util.List;

/** A Python tuple: an immutable list that prints with parentheses, as dict items and {@code (a, b)} do. */
final class PyTuple extends AbstractList<Object> {

    private final Object[] items;

    private PyTuple(Object[] items) {
        this.items = items;
    }

    static PyTuple of(List<?> items) {
        return new PyTuple(items.toArray());
    }

    static PyTuple of(Object... items) {
        return new PyTuple(items.clone());
    }

    @Override
    public Object get(int index) {
        return items[index];
    }

    @Override
    public int size() {
        return items.length;
    }
}
