package io.tandem.issuer;

import java.nio.charset.StandardCharsets;
import java.text.ParseException;
import java.util.Base64;
import java.util.Map;

import com.nimbusds.jose.util.JSONObjectUtils;

import org.springframework.http.HttpHeaders;
import org.springframework.http.MediaType;
import org.springframework.http.ResponseEntity;
import org.springframework.util.LinkedMultiValueMap;
import org.springframework.util.MultiValueMap;
import org.springframework.web.client.RestClient;

/** A real HTTP client for the running issuer; hands back every status instead of throwing. */
final class IssuerClient {
    private final RestClient http;

    IssuerClient(int port) {
        this.http = RestClient.builder()
            .baseUrl("http://localhost:" + port)
            .defaultStatusHandler((status) -> true, (request, response) -> {
            })
            .build();
    }

    ResponseEntity<String> token(String clientId, String secret, String scope) {
        MultiValueMap<String, String> form = new LinkedMultiValueMap<>();
        form.add("grant_type", "client_credentials");
        form.add("scope", scope);
        return postForm("/oauth2/token", clientId, secret, form);
    }

    /** A form POST with client_secret_basic authentication. */
    ResponseEntity<String> postForm(String uri, String clientId, String secret, Object form) {
        String basic = Base64.getEncoder().encodeToString((clientId + ":" + secret).getBytes(StandardCharsets.UTF_8));
        return this.http.post()
            .uri(uri)
            .header(HttpHeaders.AUTHORIZATION, "Basic " + basic)
            .contentType(MediaType.APPLICATION_FORM_URLENCODED)
            .body(form)
            .retrieve()
            .toEntity(String.class);
    }

    ResponseEntity<String> tokenWithoutClientAuth(MediaType accept) {
        return this.http.post()
            .uri("/oauth2/token")
            .accept(accept)
            .contentType(MediaType.APPLICATION_FORM_URLENCODED)
            .body("grant_type=client_credentials&client_id=test-edge")
            .retrieve()
            .toEntity(String.class);
    }

    ResponseEntity<String> get(String uri) {
        return this.http.get().uri(uri).retrieve().toEntity(String.class);
    }

    static Map<String, Object> json(ResponseEntity<String> response) {
        try {
            return JSONObjectUtils.parse(response.getBody());
        }
        catch (ParseException ex) {
            throw new AssertionError("not JSON: " + response.getBody(), ex);
        }
    }
}
