package io.tandem.edge.inference;

import io.tandem.model.manifest.ManifestMismatchException;
import org.springframework.boot.diagnostics.AbstractFailureAnalyzer;
import org.springframework.boot.diagnostics.FailureAnalysis;

/**
 * Turns an exported folder that does not check out (a file changed after export, one missing, partitions
 * that do not belong together) into Spring Boot's "APPLICATION FAILED TO START" report naming the file.
 */
class ExportFailureAnalyzer extends AbstractFailureAnalyzer<ManifestMismatchException> {

    @Override
    protected FailureAnalysis analyze(Throwable rootFailure, ManifestMismatchException cause) {
        return new FailureAnalysis("The model's graphs cannot be served: " + cause.getMessage(),
                "For an exported folder: export the model again (bin/tandem export), or point tandem.model.path at the"
                        + " model file; an export is served only when every file still has the sha256 its index"
                        + " recorded.", cause);
    }
}
