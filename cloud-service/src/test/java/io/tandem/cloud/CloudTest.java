package io.tandem.cloud;

import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;
import org.springframework.boot.test.context.SpringBootTest;

/**
 * The cloud on a random port with its built-in defaults (config/ is not read), trusting
 * {@link TestAgentKeys#TRUSTED}; subclasses of {@link CloudTestBase} get the key wired in.
 */
@Target(ElementType.TYPE)
@Retention(RetentionPolicy.RUNTIME)
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT, properties = {
        "tandem.cloud.security.issuer=" + TestAgentKeys.ISSUER,
        "tandem.cloud.security.audience=" + TestAgentKeys.AUDIENCE,
        "tandem.cloud.security.scope=" + TestAgentKeys.SCOPE,
        "tandem.cloud.pool.threads=1",
        "management.endpoints.web.exposure.include=health,info,prometheus",
        "management.endpoint.health.show-details=always"
})
public @interface CloudTest {
}
