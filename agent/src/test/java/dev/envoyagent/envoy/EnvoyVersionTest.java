package dev.envoyagent.envoy;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class EnvoyVersionTest {

  @Test
  void readsTheReleaseFromEnvoysVersionLine() {
    assertThat(
            EnvoyVersion.parse(
                "\nenvoy  version: 816188b86a0a52095b116b107f576324082c7c02/1.36.2/Clean/RELEASE/"
                    + "BoringSSL\n\n"))
        .contains(new EnvoyVersion(1, 36, 2));
    assertThat(EnvoyVersion.parse("envoy  version: abc/1.31.0-dev/Modified/DEBUG/BoringSSL-FIPS"))
        .contains(new EnvoyVersion(1, 31, 0));
    assertThat(EnvoyVersion.parse("PARSE ERROR: Argument: --version")).isEmpty();
  }

  @Test
  void releasesOlderThanTheMinimumAreNotSupported() {
    assertThat(new EnvoyVersion(1, 29, 9).supported()).isFalse();
    assertThat(EnvoyVersion.MINIMUM.supported()).isTrue();
    assertThat(new EnvoyVersion(1, 100, 0).supported()).isTrue();
    assertThat(new EnvoyVersion(2, 0, 0).compareTo(new EnvoyVersion(1, 99, 99))).isPositive();
  }
}
