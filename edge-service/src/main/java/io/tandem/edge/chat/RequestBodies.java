package io.tandem.edge.chat;

import io.tandem.edge.error.ApiProblem;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.Locale;
import org.springframework.http.InvalidMediaTypeException;
import org.springframework.http.MediaType;

/**
 * The bytes of a request body as the JSON text the parser reads: only JSON content types (or none,
 * as {@code curl -d} habits and some clients send) and only well-formed UTF-8, which RFC 8259
 * requires; a malformed byte is refused, never replaced.
 */
final class RequestBodies {

    private RequestBodies() {
    }

    static String jsonText(byte[] body, String contentType) {
        requireJson(contentType);
        if (body == null || body.length == 0) {
            return null;
        }
        int start = body.length >= 3 && (body[0] & 0xff) == 0xef && (body[1] & 0xff) == 0xbb && (body[2] & 0xff) == 0xbf ? 3 : 0;
        var decoder = StandardCharsets.UTF_8.newDecoder()
                .onMalformedInput(CodingErrorAction.REPORT)
                .onUnmappableCharacter(CodingErrorAction.REPORT);
        ByteBuffer bytes = ByteBuffer.wrap(body, start, body.length - start);
        try {
            return decoder.decode(bytes).toString();
        } catch (CharacterCodingException e) {
            throw ApiProblem.invalid(null, "the request body is not valid UTF-8 (a malformed byte sequence at byte "
                    + bytes.position() + "): JSON must be sent as UTF-8");
        }
    }

    private static void requireJson(String contentType) {
        if (contentType == null || contentType.isBlank()) {
            return;
        }
        MediaType type;
        try {
            type = MediaType.parseMediaType(contentType);
        } catch (InvalidMediaTypeException e) {
            throw unsupported(contentType);
        }
        boolean json = type.getType().equals("application")
                && (type.getSubtype().equals("json") || type.getSubtype().endsWith("+json"));
        if (!json) {
            throw unsupported(contentType);
        }
        String charset = type.getParameter("charset");
        if (charset != null && !charset.replace("\"", "").toLowerCase(Locale.ROOT).matches("utf-?8")) {
            throw new ApiProblem(ApiProblem.Kind.UNSUPPORTED_MEDIA_TYPE, null, "the request body is declared as "
                    + charset + "; JSON must be sent as UTF-8 (Content-Type: application/json)");
        }
    }

    private static ApiProblem unsupported(String contentType) {
        return new ApiProblem(ApiProblem.Kind.UNSUPPORTED_MEDIA_TYPE, null, "the request body must be JSON, sent with "
                + "Content-Type: application/json; it was declared as '" + contentType + "'");
    }
}
