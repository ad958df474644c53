package io.tandem.model.gguf;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;

/**
 * Builds GGUF bytes field by field, straight from the format description (little-endian; strings as
 * uint64 length + UTF-8; metadata entries as key, uint32 type, value; tensor infos as name, uint32 n_dims,
 * uint64 dims, uint32 type, uint64 offset; data padded to the alignment). Independent of
 * {@link GgufWriter}, and able to write broken files: nothing is checked. {@link #mark} records offsets
 * so tests can say where a field sits.
 */
final class GgufBytes {

    private final ByteArrayOutputStream out = new ByteArrayOutputStream();

    GgufBytes u8(int v) {
        out.write(v);
        return this;
    }

    GgufBytes u16(int v) {
        return raw(ByteBuffer.allocate(2).order(ByteOrder.LITTLE_ENDIAN).putShort((short) v).array());
    }

    GgufBytes u32(long v) {
        return raw(ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt((int) v).array());
    }

    GgufBytes u64(long v) {
        return raw(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(v).array());
    }

    GgufBytes f32(float v) {
        return u32(Float.floatToRawIntBits(v));
    }

    GgufBytes f64(double v) {
        return u64(Double.doubleToRawLongBits(v));
    }

    GgufBytes str(String s) {
        byte[] bytes = s.getBytes(StandardCharsets.UTF_8);
        u64(bytes.length);
        return raw(bytes);
    }

    GgufBytes raw(byte[] bytes) {
        out.writeBytes(bytes);
        return this;
    }

    GgufBytes header(int version, long tensors, long entries) {
        return raw("GGUF".getBytes(StandardCharsets.US_ASCII)).u32(version).u64(tensors).u64(entries);
    }

    /** A metadata entry's key and type id; the caller appends the value. */
    GgufBytes key(String key, int typeId) {
        return str(key).u32(typeId);
    }

    GgufBytes tensorInfo(String name, long[] dims, int typeId, long offset) {
        str(name).u32(dims.length);
        for (long dim : dims) {
            u64(dim);
        }
        return u32(typeId).u64(offset);
    }

    GgufBytes padTo(int alignment) {
        while (out.size() % alignment != 0) {
            out.write(0);
        }
        return this;
    }

    int mark() {
        return out.size();
    }

    byte[] bytes() {
        return out.toByteArray();
    }
}
