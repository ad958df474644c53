package io.tandem.issuer.device;

import java.util.List;
import java.util.Map;
import org.springframework.security.oauth2.server.authorization.client.RegisteredClientRepository;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.RestController;

/**
 * {@code GET /devices/revoked}: the revoked device ids, for the cloud to refuse and disconnect them
 * at once instead of when their tokens expire. Public, as the JWKS is: it names devices that no
 * longer get anything, and grants nothing.
 */
@RestController
class RevokedDevicesController {

    private final RegisteredClientRepository clients;

    RevokedDevicesController(RegisteredClientRepository clients) {
        this.clients = clients;
    }

    @GetMapping(path = "/devices/revoked", produces = "application/json")
    Map<String, List<String>> revoked() {
        return Map.of("revoked", clients instanceof DeviceClientRepository devices ? devices.revokedDevices() : List.of());
    }
}
