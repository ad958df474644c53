package io.tandem.edge.config;

import io.tandem.edge.routing.CostModel;
import org.springframework.boot.context.properties.ConfigurationProperties;

/**
 * Cloud spend ({@code tandem.budget}): prices and rolling caps, in one currency of your choosing.
 * An unset cap is no cap.
 *
 * @param pricePerAcceleratorSecond what one accelerator-second costs
 * @param pricePerEgressMb          what one megabyte sent up costs
 * @param estimateMargin            factor on a request's estimated cost when it reserves budget
 * @param hourlyCap                 spend allowed in any rolling hour
 * @param dailyCap                  spend allowed in any rolling day
 */
@ConfigurationProperties("tandem.budget")
public record BudgetProperties(Double pricePerAcceleratorSecond, Double pricePerEgressMb, Double estimateMargin,
                               Double hourlyCap, Double dailyCap) {

    public BudgetProperties {
        pricePerAcceleratorSecond = pricePerAcceleratorSecond == null ? 0.001 : pricePerAcceleratorSecond;
        pricePerEgressMb = pricePerEgressMb == null ? 0.0001 : pricePerEgressMb;
        estimateMargin = estimateMargin == null ? 1.5 : estimateMargin;
        hourlyCap = hourlyCap == null ? Double.POSITIVE_INFINITY : hourlyCap;
        dailyCap = dailyCap == null ? Double.POSITIVE_INFINITY : dailyCap;
    }

    public CostModel costModel() {
        return new CostModel(pricePerAcceleratorSecond, pricePerEgressMb, estimateMargin);
    }
}
