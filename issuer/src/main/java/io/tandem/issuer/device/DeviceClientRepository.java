package io.tandem.issuer.device;

import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.attribute.FileTime;
import java.io.IOException;
import java.time.Duration;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.security.oauth2.core.AuthorizationGrantType;
import org.springframework.security.oauth2.core.ClientAuthenticationMethod;
import org.springframework.security.oauth2.server.authorization.client.RegisteredClient;
import org.springframework.security.oauth2.server.authorization.client.RegisteredClientRepository;
import org.springframework.security.oauth2.server.authorization.settings.TokenSettings;

/**
 * Registered clients: each active device of the {@link DeviceRegistry} as its own client
 * (client_credentials, its own secret, the agent scope), then any clients configured in
 * properties. The file is reread when it changes, so a registration or a revocation takes effect
 * at the device's next token request, without a restart; a file that no longer parses keeps the
 * last good list and is reported once.
 */
public final class DeviceClientRepository implements RegisteredClientRepository {

    private static final Logger log = LoggerFactory.getLogger(DeviceClientRepository.class);

    private final DeviceRegistry registry;
    private final RegisteredClientRepository configured;
    private final String scope;
    private final Duration tokenTimeToLive;
    private volatile Snapshot snapshot = new Snapshot(null, -1, Map.of());

    private record Snapshot(FileTime modified, long size, Map<String, DeviceRegistry.Device> devices) {
    }

    /** @param configured the clients from properties; null when there are none */
    public DeviceClientRepository(DeviceRegistry registry, RegisteredClientRepository configured, String scope,
                                  Duration tokenTimeToLive) {
        this.registry = registry;
        this.configured = configured;
        this.scope = scope;
        this.tokenTimeToLive = tokenTimeToLive;
        refresh();
        log.info("Device registry {}: {} active device(s)", registry.file(), snapshot.devices().values().stream()
                .filter(d -> d.state() == DeviceRegistry.State.ACTIVE).count());
    }

    /**
     * Spring Authorization Server saves a client after authenticating it when it wants the secret's
     * hash re-encoded; a device's hash stays as the device command wrote it, so that is a no-op.
     */
    @Override
    public void save(RegisteredClient registeredClient) {
        if (device(registeredClient.getClientId()) == null && configured != null) {
            configured.save(registeredClient);
        }
    }

    @Override
    public RegisteredClient findById(String id) {
        RegisteredClient device = device(id);
        return device != null ? device : configured == null ? null : configured.findById(id);
    }

    @Override
    public RegisteredClient findByClientId(String clientId) {
        RegisteredClient device = device(clientId);
        return device != null ? device : configured == null ? null : configured.findByClientId(clientId);
    }

    /** The ids of revoked devices, sorted: what resource servers need to drop connections opened with older tokens. */
    public java.util.List<String> revokedDevices() {
        refresh();
        return snapshot.devices().values().stream().filter(d -> d.state() == DeviceRegistry.State.REVOKED)
                .map(DeviceRegistry.Device::id).sorted().toList();
    }

    private RegisteredClient device(String id) {
        refresh();
        DeviceRegistry.Device device = snapshot.devices().get(id);
        if (device == null || device.state() != DeviceRegistry.State.ACTIVE) {
            return null;
        }
        return RegisteredClient.withId(device.id())
                .clientId(device.id())
                .clientSecret(device.secretHash())
                .clientIdIssuedAt(device.registeredAt())
                .clientAuthenticationMethod(ClientAuthenticationMethod.CLIENT_SECRET_BASIC)
                .authorizationGrantType(AuthorizationGrantType.CLIENT_CREDENTIALS)
                .scope(scope)
                .tokenSettings(TokenSettings.builder().accessTokenTimeToLive(tokenTimeToLive).build())
                .build();
    }

    private synchronized void refresh() {
        FileTime modified;
        long size;
        try {
            modified = Files.getLastModifiedTime(registry.file());
            size = Files.size(registry.file());
        } catch (NoSuchFileException e) {
            modified = null;
            size = -1;
        } catch (IOException e) {
            log.error("cannot read the device registry {}: {}", registry.file(), e.toString());
            return;
        }
        Snapshot now = snapshot;
        if (java.util.Objects.equals(modified, now.modified()) && size == now.size()) {
            return;
        }
        try {
            snapshot = new Snapshot(modified, size, registry.read());
        } catch (RuntimeException e) {
            snapshot = new Snapshot(modified, size, now.devices());
            log.error("the device registry {} is not valid, keeping the devices read before: {}", registry.file(),
                    e.getMessage());
        }
    }
}
