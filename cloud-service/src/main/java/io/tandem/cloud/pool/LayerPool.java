package io.tandem.cloud.pool;

import io.tandem.model.wire.Mode;
import java.util.List;

/**
 * Where the cloud's layers run. A session asks for a sequence over the layers its mode leaves to
 * the cloud; the pool decides how steps execute (in this process, or on a Triton server).
 */
public interface LayerPool extends AutoCloseable {

    /**
     * A fresh sequence over the layers {@code mode} leaves to the cloud, for the model whose
     * weights hash to {@code modelHash}.
     *
     * @throws SessionRefusedException when the model is not served or the mode does not fit it
     */
    PoolSequence open(String modelHash, Mode mode);

    /**
     * A sequence that can verify drafts: {@link PoolSequence#forwardRows} and
     * {@link PoolSequence#truncate} work on it. A pool that cannot verify refuses with BAD_MODE.
     */
    default PoolSequence openForVerification(String modelHash, Mode mode) {
        throw new SessionRefusedException(io.tandem.model.wire.SessionError.BAD_MODE,
                "this cloud's pool cannot verify drafts; open the session without VERIFY");
    }

    /** As {@link #open(String, Mode)}, for {@code agent}: pools that share passes between agents keep them fair. */
    default PoolSequence open(String modelHash, Mode mode, String agent) {
        return open(modelHash, mode);
    }

    /** The served model whose weights hash to {@code modelHash}; refuses the session naming what is served. */
    static <T> T require(java.util.Map<String, T> served, String modelHash) {
        T model = served.get(modelHash);
        if (model == null) {
            throw new SessionRefusedException(io.tandem.model.wire.SessionError.UNKNOWN_MODEL,
                    "this cloud does not serve model " + modelHash + "; it serves " + served.keySet());
        }
        return model;
    }

    /** The models this pool serves, for info and health. */
    List<PoolModel> models();

    /** Steps waiting for a worker: what autoscaling and the edge's routing watch. */
    int queueDepth();

    @Override
    void close();
}
