package io.tandem.edge.error;

import io.tandem.edge.inference.OverloadedException;
import java.net.URI;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.beans.factory.annotation.Value;
import org.springframework.core.io.buffer.DataBufferLimitException;
import org.springframework.http.HttpHeaders;
import org.springframework.util.unit.DataSize;
import org.springframework.http.HttpStatus;
import org.springframework.http.MediaType;
import org.springframework.http.ProblemDetail;
import org.springframework.http.ResponseEntity;
import org.springframework.web.bind.annotation.ExceptionHandler;
import org.springframework.web.bind.annotation.RestControllerAdvice;
import org.springframework.web.server.ResponseStatusException;
import org.springframework.web.server.ServerWebInputException;
import org.springframework.web.server.UnsupportedMediaTypeStatusException;

/** The one place where errors become RFC 9457 problem responses. */
@RestControllerAdvice
public class ProblemHandler {

    private static final Logger log = LoggerFactory.getLogger(ProblemHandler.class);
    private final DataSize maxBodySize;

    public ProblemHandler(@Value("${spring.codec.max-in-memory-size:256KB}") DataSize maxBodySize) {
        this.maxBodySize = maxBodySize;
    }
    static final String TYPE_BASE = "https://tandem.dev/problems/";

    @ExceptionHandler(ApiProblem.class)
    ResponseEntity<ProblemDetail> api(ApiProblem e) {
        ProblemDetail p = problem(e.kind().status(), e.kind().slug, e.kind().title, e.getMessage());
        if (e.parameter() != null) {
            p.setProperty("parameter", e.parameter());
        }
        return respond(p, new HttpHeaders());
    }

    @ExceptionHandler(OverloadedException.class)
    ResponseEntity<ProblemDetail> overloaded(OverloadedException e) {
        HttpHeaders headers = new HttpHeaders();
        long seconds = Math.max(1, (e.retryAfter().toMillis() + 999) / 1000);
        headers.set(HttpHeaders.RETRY_AFTER, Long.toString(seconds));
        ApiProblem.Kind k = ApiProblem.Kind.OVERLOADED;
        return respond(problem(k.status, k.slug, k.title, e.getMessage()), headers);
    }

    /** Bodies that are not JSON, or not the JSON the endpoint reads. */
    @ExceptionHandler(ServerWebInputException.class)
    ResponseEntity<ProblemDetail> unreadable(ServerWebInputException e) {
        if (e.getMostSpecificCause() instanceof DataBufferLimitException) {
            return tooLarge();
        }
        String detail = e.getMostSpecificCause() instanceof tools.jackson.core.JacksonException json
                ? "the request body is not valid JSON: " + JsonErrors.describe(json)
                : "the request could not be read: " + java.util.Objects.requireNonNullElse(e.getReason(), "bad input");
        ApiProblem.Kind k = ApiProblem.Kind.INVALID_REQUEST;
        return respond(problem(k.status, k.slug, k.title, detail), new HttpHeaders());
    }

    @ExceptionHandler(DataBufferLimitException.class)
    ResponseEntity<ProblemDetail> bodyTooLarge(DataBufferLimitException e) {
        return tooLarge();
    }

    private ResponseEntity<ProblemDetail> tooLarge() {
        long bytes = maxBodySize.toBytes();
        String limit = bytes % 1024 == 0 ? bytes / 1024 + " KiB (" + bytes + " bytes)" : bytes + " bytes";
        return respond(problem(HttpStatus.CONTENT_TOO_LARGE, "content-too-large", "Request body too large",
                "the request body is larger than this edge accepts: at most " + limit
                        + " (spring.codec.max-in-memory-size); shorten the conversation"), new HttpHeaders());
    }

    @ExceptionHandler(UnsupportedMediaTypeStatusException.class)
    ResponseEntity<ProblemDetail> mediaType(UnsupportedMediaTypeStatusException e) {
        return respond(problem(HttpStatus.UNSUPPORTED_MEDIA_TYPE, "unsupported-media-type", "Unsupported media type",
                "the request body must be JSON, sent with Content-Type: application/json"), new HttpHeaders());
    }

    /**
     * The framework's own refusals (no such resource, method not allowed...) keep their status, with a
     * detail in the API's words: the framework's reasons name its internals ("No static resource").
     */
    @ExceptionHandler(ResponseStatusException.class)
    ResponseEntity<ProblemDetail> framework(ResponseStatusException e, org.springframework.web.server.ServerWebExchange exchange) {
        HttpStatus status = HttpStatus.resolve(e.getStatusCode().value());
        if (status == null) {
            status = HttpStatus.INTERNAL_SERVER_ERROR;
        }
        if (status == HttpStatus.CONTENT_TOO_LARGE) {
            return tooLarge();
        }
        String path = exchange.getRequest().getPath().value();
        String detail = switch (status) {
            case NOT_FOUND -> "there is nothing at " + path + "; the API is POST /v1/chat/completions, POST /v1/completions"
                    + " and GET /v1/models";
            case METHOD_NOT_ALLOWED -> exchange.getRequest().getMethod() + " is not allowed on " + path
                    + (e.getHeaders().getAllow().isEmpty() ? "" : "; use " + e.getHeaders().getAllow());
            case NOT_ACCEPTABLE -> "this endpoint answers in JSON (or text/event-stream when streaming); the Accept header"
                    + " allows neither";
            default -> status.getReasonPhrase();
        };
        String slug = status.getReasonPhrase().toLowerCase(java.util.Locale.ROOT).replace(' ', '-');
        ProblemDetail p = problem(status, slug, status.getReasonPhrase(), detail);
        HttpHeaders headers = new HttpHeaders();
        headers.putAll(e.getHeaders());
        return respond(p, headers);
    }

    @ExceptionHandler(RuntimeException.class)
    ResponseEntity<ProblemDetail> unexpected(RuntimeException e) {
        log.error("request failed", e);
        return respond(problem(HttpStatus.INTERNAL_SERVER_ERROR, "internal-error", "Internal error",
                "the edge could not complete the request: " + e.getMessage()), new HttpHeaders());
    }

    static ProblemDetail problem(HttpStatus status, String slug, String title, String detail) {
        ProblemDetail p = ProblemDetail.forStatusAndDetail(status, detail);
        p.setType(URI.create(TYPE_BASE + slug));
        p.setTitle(title);
        return p;
    }

    /**
     * OpenAI's clients read an error's message only from an {@code error} member, so each problem
     * carries one too: still valid problem+json, and the SDKs show the detail instead of "no body".
     */
    private static ResponseEntity<ProblemDetail> respond(ProblemDetail p, HttpHeaders headers) {
        java.util.Map<String, Object> error = new java.util.LinkedHashMap<>();
        String slug = p.getType().getPath().substring(p.getType().getPath().lastIndexOf('/') + 1);
        error.put("message", p.getDetail());
        error.put("type", slug);
        error.put("param", p.getProperties() == null ? null : p.getProperties().get("parameter"));
        error.put("code", slug);
        p.setProperty("error", error);
        return ResponseEntity.status(p.getStatus()).headers(headers).contentType(MediaType.APPLICATION_PROBLEM_JSON).body(p);
    }
}
