package io.tandem.edge.link;

import java.nio.file.Path;
import java.util.Locale;
import org.springframework.boot.context.properties.ConfigurationProperties;

/**
 * How tokens cross the link. The cloud route: {@code stream} (the prompt goes up once, the cloud
 * decodes on its own within a credit window), {@code lockstep} (one round trip per token), or
 * {@code draft} (the local model drafts, the cloud model verifies). The split route:
 * {@code speculative} (a draft model proposes gamma tokens, the edge runs its layers over them in
 * one pass, the cloud verifies) or {@code lockstep}. The draft: {@code int4} (the edge's int4 copy
 * of the model), {@code early-exit} (the edge's own layers [0, k) through the final norm and
 * classifier), or {@code model} (the model at {@code draft-model}, same vocabulary). gamma starts at
 * {@code gamma} and adapts to the acceptance rate within [{@code min-gamma}, {@code max-gamma}].
 */
@ConfigurationProperties("tandem.delivery")
public record DeliveryProperties(String cloud, String split, String draft, Path draftModel, int creditWindow,
                                 int gamma, int minGamma, int maxGamma) {

    public enum CloudDelivery { STREAM, LOCKSTEP, DRAFT }

    public enum SplitDelivery { SPECULATIVE, LOCKSTEP }

    public enum DraftKind { INT4, EARLY_EXIT, MODEL }

    public DeliveryProperties {
        cloud = cloud == null ? "stream" : cloud;
        split = split == null ? "speculative" : split;
        draft = draft == null ? "int4" : draft;
        creditWindow = creditWindow == 0 ? 256 : creditWindow;
        gamma = gamma == 0 ? 4 : gamma;
        minGamma = minGamma == 0 ? 1 : minGamma;
        maxGamma = maxGamma == 0 ? 8 : maxGamma;
        parse(CloudDelivery.class, cloud, "tandem.delivery.cloud");
        parse(SplitDelivery.class, split, "tandem.delivery.split");
        DraftKind kind = parse(DraftKind.class, draft, "tandem.delivery.draft");
        if (kind == DraftKind.MODEL && draftModel == null) {
            throw new IllegalArgumentException("tandem.delivery.draft=model needs tandem.delivery.draft-model (a model file"
                    + " with the same vocabulary)");
        }
        if (creditWindow < 1) {
            throw new IllegalArgumentException("tandem.delivery.credit-window must be >= 1, was " + creditWindow);
        }
        if (minGamma < 1 || minGamma > gamma || gamma > maxGamma || maxGamma > 64) {
            throw new IllegalArgumentException("tandem.delivery needs 1 <= min-gamma <= gamma <= max-gamma <= 64, was "
                    + minGamma + ", " + gamma + ", " + maxGamma);
        }
    }

    public static DeliveryProperties defaults() {
        return new DeliveryProperties(null, null, null, null, 0, 0, 0, 0);
    }

    public CloudDelivery cloudDelivery() {
        return parse(CloudDelivery.class, cloud, "tandem.delivery.cloud");
    }

    public SplitDelivery splitDelivery() {
        return parse(SplitDelivery.class, split, "tandem.delivery.split");
    }

    public DraftKind draftKind() {
        return parse(DraftKind.class, draft, "tandem.delivery.draft");
    }

    private static <E extends Enum<E>> E parse(Class<E> type, String value, String property) {
        try {
            return Enum.valueOf(type, value.trim().toUpperCase(Locale.ROOT).replace('-', '_'));
        } catch (IllegalArgumentException e) {
            StringBuilder allowed = new StringBuilder();
            for (E constant : type.getEnumConstants()) {
                allowed.append(allowed.isEmpty() ? "" : ", ").append(constant.name().toLowerCase(Locale.ROOT).replace('_', '-'));
            }
            throw new IllegalArgumentException(property + " must be one of " + allowed + ", was '" + value + "'");
        }
    }
}
