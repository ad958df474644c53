package io.tandem.edge.routing;

/**
 * The device now.
 *
 * @param utilization    running local generations as a share of local slots, 0..1
 * @param queued         local generations waiting for a slot
 * @param slots          local generation slots
 * @param contextLength  the local model's context in tokens
 * @param layers         the local model's layers
 * @param msPerToken     measured local decode time per token (or the configured guess before any)
 * @param msPerPromptToken measured local prefill time per prompt token
 */
public record DeviceState(double utilization, int queued, int slots, int contextLength, int layers, double msPerToken,
                          double msPerPromptToken) {

    public DeviceState {
        if (!(utilization >= 0) || queued < 0 || slots < 1 || contextLength < 1 || layers < 1
                || !(msPerToken > 0) || !(msPerPromptToken > 0)) {
            throw new IllegalArgumentException("invalid device state: utilization " + utilization + ", queued " + queued
                    + ", slots " + slots + ", context " + contextLength + ", layers " + layers + ", ms/token " + msPerToken
                    + ", ms/prompt token " + msPerPromptToken);
        }
    }

    /** Expected wait for a local slot plus the prefill: the local time to first token. */
    public double localTtftMs(int promptTokens, int maxTokens) {
        double requestMs = promptTokens * msPerPromptToken + maxTokens * msPerToken;
        // every slot busy: this request waits for its turn behind the queue
        double wait = utilization >= 1.0 ? (queued + 1.0) / slots * requestMs : 0;
        return wait + promptTokens * msPerPromptToken;
    }
}
