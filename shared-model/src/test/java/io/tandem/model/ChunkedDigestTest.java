package io.tandem.model;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ChunkedDigestTest {

    @TempDir
    Path dir;

    @Test
    void piecesFedInAnySizesHashLikeEachChunkOnItsOwnAndLikeTheFileReadBackInParallel() throws IOException {
        SplittableRandom random = new SplittableRandom(3);
        byte[] bytes = new byte[10_000 + 337];
        random.nextBytes(bytes);
        int chunk = 1000;
        ChunkedDigest digest = new ChunkedDigest(chunk);
        for (int at = 0; at < bytes.length; ) {
            int n = Math.min(bytes.length - at, 1 + random.nextInt(2500));
            ByteBuffer piece = ByteBuffer.wrap(bytes, at, n);
            digest.update(piece);
            assertThat(piece.position()).isEqualTo(at);
            at += n;
        }
        List<String> expected = new ArrayList<>();
        for (int from = 0; from < bytes.length; from += chunk) {
            MessageDigest plain = FileDigest.newSha256();
            plain.update(Arrays.copyOfRange(bytes, from, Math.min(bytes.length, from + chunk)));
            expected.add(HexFormat.of().formatHex(plain.digest()));
        }
        assertThat(digest.hashes()).hasSize(11).containsExactlyElementsOf(expected);

        Path file = Files.write(dir.resolve("data"), bytes);
        assertThat(ChunkedDigest.of(file, chunk)).containsExactlyElementsOf(expected);
        bytes[5_500] ^= 1;
        Files.write(file, bytes);
        List<String> changed = ChunkedDigest.of(file, chunk);
        for (int i = 0; i < expected.size(); i++) {
            assertThat(changed.get(i).equals(expected.get(i))).as("chunk %d", i).isEqualTo(i != 5);
        }
    }
}
