package io.tandem.edge.error;

import org.springframework.http.HttpStatus;

/**
 * A request the edge refuses, with the problem type it maps to. {@link ProblemHandler} turns every
 * one into an RFC 9457 problem response; nothing else decides status codes.
 */
public final class ApiProblem extends RuntimeException {

    /** The closed set of problems the API reports, each with its status and type slug. */
    public enum Kind {
        INVALID_REQUEST(HttpStatus.BAD_REQUEST, "invalid-request", "Invalid request"),
        CONTEXT_EXCEEDED(HttpStatus.BAD_REQUEST, "context-length-exceeded", "Context length exceeded"),
        UNKNOWN_MODEL(HttpStatus.NOT_FOUND, "unknown-model", "Unknown model"),
        UNSUPPORTED_MEDIA_TYPE(HttpStatus.UNSUPPORTED_MEDIA_TYPE, "unsupported-media-type", "Unsupported media type"),
        ROUTE_UNAVAILABLE(HttpStatus.SERVICE_UNAVAILABLE, "route-unavailable", "Route unavailable"),
        OVERLOADED(HttpStatus.TOO_MANY_REQUESTS, "overloaded", "Too many requests"),
        NOT_READY(HttpStatus.SERVICE_UNAVAILABLE, "not-ready", "Model not ready");

        final HttpStatus status;
        final String slug;
        final String title;

        Kind(HttpStatus status, String slug, String title) {
            this.status = status;
            this.slug = slug;
            this.title = title;
        }

        public HttpStatus status() {
            return status;
        }
    }

    private final Kind kind;
    private final String parameter;

    public ApiProblem(Kind kind, String parameter, String detail) {
        super(detail);
        this.kind = kind;
        this.parameter = parameter;
    }

    public static ApiProblem invalid(String parameter, String detail) {
        return new ApiProblem(Kind.INVALID_REQUEST, parameter, detail);
    }

    public Kind kind() {
        return kind;
    }

    /** The request field at fault, or null. */
    public String parameter() {
        return parameter;
    }
}
