package io.tandem.edge;

import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.webtestclient.autoconfigure.AutoConfigureWebTestClient;
import org.springframework.core.annotation.AliasFor;

/** A full edge on a random port, configured from config/edge.yml as bin/tandem edge configures it. */
@Target(ElementType.TYPE)
@Retention(RetentionPolicy.RUNTIME)
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT)
@AutoConfigureWebTestClient
public @interface EdgeTest {

    String CONFIG = "spring.config.additional-location=file:../config/";
    String CONFIG_NAME = "spring.config.name=application,edge";
    /** The audit trail goes to the build folder, not the checkout. */
    String AUDIT = "tandem.audit.path=target/test-audit.jsonl";

    @AliasFor(annotation = SpringBootTest.class, attribute = "properties")
    String[] properties() default {CONFIG, CONFIG_NAME, AUDIT};
}
