package io.tandem.model.gguf;

import java.util.List;

/**
 * Everything before a GGUF file's tensor data: the version, the metadata, the tensor list, the alignment
 * and where the (aligned) data section starts.
 */
record GgufHeader(int version, GgufMetadata metadata, List<GgufTensorInfo> tensors, int alignment, long dataOffset) {

    GgufHeader {
        tensors = List.copyOf(tensors);
    }
}
