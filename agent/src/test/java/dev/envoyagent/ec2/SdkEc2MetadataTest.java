package dev.envoyagent.ec2;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.envoyagent.testkit.imds.Fault;
import dev.envoyagent.testkit.imds.ImdsEmulator;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.Base64;
import java.util.Optional;
import org.bouncycastle.cms.CMSSignedData;
import org.bouncycastle.cms.SignerInformation;
import org.bouncycastle.cms.jcajce.JcaSimpleSignerInfoVerifierBuilder;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.imds.Ec2MetadataClientException;

class SdkEc2MetadataTest {
  private static final String INSTANCE_ID = "/latest/meta-data/instance-id";

  private ImdsEmulator imds;
  private SdkEc2Metadata metadata;

  @BeforeEach
  void start() {
    imds =
        ImdsEmulator.builder()
            .clock(Clock.fixed(Instant.parse("2025-06-01T12:00:00Z"), ZoneOffset.UTC))
            .start();
    metadata = SdkEc2Metadata.create(options(imds));
  }

  @AfterEach
  void stop() {
    metadata.close();
    imds.close();
  }

  static Ec2MetadataOptions options(ImdsEmulator imds) {
    return Ec2MetadataOptions.defaults().withEndpoint(imds.endpoint());
  }

  @Test
  void identityIsFilledFromImds() throws Exception {
    InstanceIdentity id = metadata.identity();

    assertThat(id.instanceId()).isEqualTo("i-0123456789abcdef0");
    assertThat(id.region()).isEqualTo("us-east-1");
    assertThat(id.availabilityZone()).isEqualTo("us-east-1a");
    assertThat(id.availabilityZoneId()).isEqualTo("use1-az4");
    assertThat(id.privateIpv4()).isEqualTo("10.0.1.23");
    assertThat(id.instanceType()).isEqualTo("m6i.large");
    assertThat(id.amiId()).isEqualTo("ami-0abcdef1234567890");
    assertThat(id.tags())
        .containsExactly(
            java.util.Map.entry("Name", "envoy-agent-test"),
            java.util.Map.entry("team", "platform"));
    assertThat(id.identityDocument()).isEqualTo(imds.identityDocument());

    CMSSignedData signed =
        new CMSSignedData(Base64.getMimeDecoder().decode(id.identitySignature()));
    assertThat(new String((byte[]) signed.getSignedContent().getContent(), StandardCharsets.UTF_8))
        .isEqualTo(id.identityDocument());
    SignerInformation signer = signed.getSignerInfos().getSigners().iterator().next();
    assertThat(
            signer.verify(
                new JcaSimpleSignerInfoVerifierBuilder().build(imds.signer().certificate())))
        .as("a control plane holding the certificate can verify the host")
        .isTrue();
  }

  @Test
  void staticValuesAreFetchedOnceWithOneToken() {
    InstanceIdentity first = metadata.identity();
    assertThat(metadata.identity()).isSameAs(first);
    assertThat(imds.count(INSTANCE_ID, 200)).isEqualTo(1);
    assertThat(imds.tokensIssued()).isEqualTo(1);
  }

  @Test
  void tagsOffGiveAnEmptyMap() {
    imds.tagsEnabled(false);
    assertThat(metadata.identity().tags()).isEmpty();
    assertThat(imds.count("/latest/meta-data/tags/instance", 404)).isEqualTo(1);
  }

  @Test
  void absentItemsReadAsEmpty() {
    assertThat(metadata.read("/latest/meta-data/spot/instance-action")).isEmpty();
  }

  @Test
  void sdkAloneKeepsItsStaleTokenAfter401() {
    // Pins aws/aws-sdk-java-v2#5764, the reason for the rebuild: if this starts failing, the SDK
    // was fixed.
    SdkEc2Metadata.Client raw = SdkEc2Metadata.build(options(imds), 0);
    try {
      raw.imds().get(INSTANCE_ID);
      imds.invalidateAllTokens();
      for (int i = 0; i < 2; i++) {
        assertThatThrownBy(() -> raw.imds().get(INSTANCE_ID))
            .isInstanceOfSatisfying(
                Ec2MetadataClientException.class, e -> assertThat(e.statusCode()).isEqualTo(401));
      }
      assertThat(imds.tokensIssued()).isEqualTo(1);
    } finally {
      raw.close();
    }
  }

  @Test
  void a401RebuildsTheClientAndRetriesOnce() {
    assertThat(metadata.read(INSTANCE_ID)).hasValue("i-0123456789abcdef0");
    assertThat(imds.tokensIssued()).isEqualTo(1);
    int round = 0;
    for (boolean body : new boolean[] {true, false}) {
      round++;
      imds.unauthorizedWithBody(body);

      imds.invalidateAllTokens();

      assertThat(metadata.read(INSTANCE_ID))
          .as("401 body=%s", body)
          .hasValue("i-0123456789abcdef0");
      assertThat(metadata.read("/latest/meta-data/placement/availability-zone"))
          .hasValue("us-east-1a");
      assertThat(metadata.clientRebuilds()).isEqualTo(round);
      assertThat(imds.tokensIssued()).as("one fresh token per rebuild").isEqualTo(1 + round);
    }
    assertThat(imds.count(INSTANCE_ID, 401)).isEqualTo(2);
  }

  @Test
  void aPersistent401FailsAfterOneRetry() {
    metadata.read(INSTANCE_ID);
    imds.injectFault(new Fault(401, false, "/latest/meta-data/"), Integer.MAX_VALUE);
    assertThatThrownBy(() -> metadata.read(INSTANCE_ID))
        .isInstanceOf(Ec2MetadataException.class)
        .hasMessageContaining(imds.endpoint().toString())
        .hasMessageContaining("HTTP 401 after a fresh token");
    assertThat(metadata.clientRebuilds()).isEqualTo(1);
  }

  @Test
  void transient5xxAreRetriedBySdk() {
    imds.injectFault(Fault.of(503, true), 2);
    assertThat(metadata.read(INSTANCE_ID)).hasValue("i-0123456789abcdef0");
    imds.injectFault(Fault.of(500, false), 1);
    assertThat(metadata.read("/latest/meta-data/local-ipv4")).hasValue("10.0.1.23");
  }

  @Test
  void persistent5xxFailWithEndpointAndReasonAfterBoundedAttempts() {
    imds.injectFault(Fault.of(500, false), Integer.MAX_VALUE);
    long start = System.nanoTime();
    assertThatThrownBy(() -> metadata.read(INSTANCE_ID))
        .isInstanceOf(Ec2MetadataException.class)
        .hasMessageContaining(imds.endpoint().toString())
        .hasMessageContaining("500");
    assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(5));
    assertThat(imds.requests()).hasSize(3); // 1 try + 2 retries, each stopped at the token PUT
  }

  @Test
  void closedMetadataRefusesReads() {
    metadata.close();
    metadata.close();
    assertThatThrownBy(() -> metadata.read(INSTANCE_ID)).isInstanceOf(IllegalStateException.class);
    assertThat(Optional.of(metadata.endpoint())).hasValue(imds.endpoint());
  }
}
