package io.tandem.edge.config;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.springframework.boot.context.properties.bind.Binder;
import org.springframework.boot.env.YamlPropertySourceLoader;
import org.springframework.core.env.PropertySource;
import org.springframework.core.env.StandardEnvironment;
import org.springframework.core.io.FileSystemResource;

/** The Raspberry Pi profile binds to the model properties it means, session configuration keys with their dots. */
class PiProfileTest {

    @Test
    void thePiProfileBindsItsModelSettings() throws IOException {
        StandardEnvironment env = new StandardEnvironment();
        for (PropertySource<?> source : new YamlPropertySourceLoader().load("edge-pi",
                new FileSystemResource(Path.of("..", "config", "edge-pi.yml")))) {
            env.getPropertySources().addFirst(source);
        }
        ModelProperties model = Binder.get(env).bind("tandem.model", ModelProperties.class).get();
        assertThat(model.weights()).isEqualTo("int4");
        assertThat(model.threads()).isEqualTo(2);
        assertThat(model.sessionConfig()).containsExactlyEntriesOf(java.util.Map.of("session.intra_op.allow_spinning", "0"));
    }
}
