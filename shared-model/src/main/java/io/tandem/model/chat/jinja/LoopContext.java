package io.tandem.model.chat.jinja;

import java.util.List;

/** The {@code loop} variable inside a for loop. */
final class LoopContext {

    private final List<Object> items;
    private final int index0;

    LoopContext(List<Object> items, int index0) {
        this.items = items;
        this.index0 = index0;
    }

    Object attribute(String name) {
        int length = items.size();
        return switch (name) {
            case "index" -> (long) index0 + 1;
            case "index0" -> (long) index0;
            case "revindex" -> (long) (length - index0);
            case "revindex0" -> (long) (length - index0 - 1);
            case "first" -> index0 == 0;
            case "last" -> index0 == length - 1;
            case "length" -> (long) length;
            case "depth" -> 1L;
            case "depth0" -> 0L;
            case "previtem" -> index0 > 0 ? items.get(index0 - 1) : Undefined.because("there is no previous item");
            case "nextitem" -> index0 < length - 1 ? items.get(index0 + 1) : Undefined.because("there is no next item");
            case "cycle" -> (PyCallable) (args, kwargs) -> {
                if (args.isEmpty()) {
                    throw new PyError("no items for loop.cycle()");
                }
                return args.get(index0 % args.size());
            };
            default -> Undefined.because("'loop' has no attribute '" + name + "'");
        };
    }

    @Override
    public String toString() {
        return "<LoopContext " + (index0 + 1) + "/" + items.size() + ">";
    }
}
