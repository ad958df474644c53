package io.tandem.edge.chat;

import io.tandem.model.chat.ChatMessage;
import java.util.List;

/**
 * Leaving the oldest turns of a conversation out so that it fits the context: a turn is a user
 * message with the assistant answers that follow it; system messages and the last message stay.
 */
final class HistoryTrim {

    private HistoryTrim() {
    }

    /** Index of the first message of the oldest turn that may go, or -1 when only what must stay is left. */
    static int oldestTurn(List<ChatMessage> messages) {
        for (int i = 0; i < messages.size() - 1; i++) {
            if (messages.get(i).role() != ChatMessage.Role.SYSTEM) {
                return i;
            }
        }
        return -1;
    }

    /** Removes the turn starting at {@code from} (never the last message); returns how many messages went. */
    static int dropTurn(List<ChatMessage> messages, int from) {
        int removed = 0;
        messages.remove(from);
        removed++;
        while (from < messages.size() - 1 && messages.get(from).role() == ChatMessage.Role.ASSISTANT) {
            messages.remove(from);
            removed++;
        }
        return removed;
    }
}
