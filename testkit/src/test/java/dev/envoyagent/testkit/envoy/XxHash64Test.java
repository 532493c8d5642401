package dev.envoyagent.testkit.envoy;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/**
 * The {@code version} gauge of a subscription is XXH64(version_info, seed 0), as
 * HashUtil::xxHash64.
 */
class XxHash64Test {
  @Test
  void matchesTheReferenceVectors() {
    assertThat(XxHash64.hash("")).isEqualTo(0xEF46DB3751D8E999L);
    assertThat(XxHash64.hash("a")).isEqualTo(0xD24EC4F1A98C6E5BL);
    assertThat(XxHash64.hash("abc")).isEqualTo(0x44BC2CF5AD770999L);
    // 43 bytes: exercises the 32-byte stripes, the 8-, 4- and 1-byte tails
    assertThat(XxHash64.hash("The quick brown fox jumps over the lazy dog"))
        .isEqualTo(0x0B242D361FDA71BCL);
    assertThat(
            XxHash64.hash(
                "The quick brown fox jumps over the lazy dog".getBytes(StandardCharsets.UTF_8), 0))
        .isEqualTo(XxHash64.hash("The quick brown fox jumps over the lazy dog"));
  }
}
