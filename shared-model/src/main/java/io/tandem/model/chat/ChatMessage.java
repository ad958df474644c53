package io.tandem.model.chat;

import java.util.Locale;

/** One message of a conversation. */
public record ChatMessage(Role role, String content) {

    public enum Role {
        SYSTEM, USER, ASSISTANT;

        public String label() {
            return name().toLowerCase(Locale.ROOT);
        }

        public static Role parse(String text) {
            for (Role r : values()) {
                if (r.label().equals(text)) {
                    return r;
                }
            }
            throw new IllegalArgumentException("unknown role '" + text + "': expected system, user or assistant");
        }
    }

    public ChatMessage {
        if (role == null) {
            throw new IllegalArgumentException("a message needs a role");
        }
        if (content == null) {
            throw new IllegalArgumentException("a " + role.label() + " message needs content");
        }
    }
}
