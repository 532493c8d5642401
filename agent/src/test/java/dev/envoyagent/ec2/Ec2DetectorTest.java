package dev.envoyagent.ec2;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.envoyagent.testkit.Ports;
import dev.envoyagent.testkit.imds.Fault;
import dev.envoyagent.testkit.imds.ImdsEmulator;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.time.Clock;
import java.time.Duration;
import java.util.Optional;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;

class Ec2DetectorTest {
  private static final Duration FAST = Duration.ofSeconds(2);

  private static Ec2Detector detector(URI endpoint) {
    return new Ec2Detector(Ec2MetadataOptions.defaults().withEndpoint(endpoint), Clock.systemUTC());
  }

  @Test
  void autoOnEc2ReturnsMetadataWithItsIdentityRead() {
    try (ImdsEmulator imds = ImdsEmulator.builder().start()) {
      Optional<Ec2Metadata> found = detector(imds.endpoint()).open(Ec2Mode.AUTO);
      assertThat(found).isPresent();
      try (Ec2Metadata m = found.get()) {
        int before = imds.requests().size();
        assertThat(m.identity().instanceId()).isEqualTo("i-0123456789abcdef0");
        assertThat(imds.requests()).as("identity was read during open").hasSize(before);
      }
    }
  }

  @Test
  void autoDecidesNotEc2FastOnAClosedPort() {
    URI closed = URI.create("http://127.0.0.1:" + Ports.free());
    Timed<Optional<Ec2Metadata>> r = timed(() -> detector(closed).open(Ec2Mode.AUTO));
    assertThat(r.value()).isEmpty();
    assertThat(r.elapsed()).isLessThan(FAST);
    System.out.println("not-ec2 detection, closed port: " + r.elapsed().toMillis() + " ms");
  }

  @Test
  void autoDecidesNotEc2FastWhenImdsStalls() {
    try (ImdsEmulator imds = ImdsEmulator.builder().start()) {
      imds.delayResponses(Duration.ofSeconds(5), Integer.MAX_VALUE);
      Timed<Optional<Ec2Metadata>> r = timed(() -> detector(imds.endpoint()).open(Ec2Mode.AUTO));
      assertThat(r.value()).isEmpty();
      assertThat(r.elapsed()).isLessThan(FAST);
      System.out.println("not-ec2 detection, stalled IMDS: " + r.elapsed().toMillis() + " ms");
    }
  }

  @Test
  void autoDecidesNotEc2FastWhenNothingEverAnswers() throws Exception {
    // A listener that never accepts: the kernel completes the connection, then nothing is ever read
    // (a blackhole
    // that stays on loopback).
    try (ServerSocket silent = new ServerSocket(0, 50, InetAddress.getLoopbackAddress())) {
      URI endpoint = URI.create("http://127.0.0.1:" + silent.getLocalPort());
      Timed<Optional<Ec2Metadata>> r = timed(() -> detector(endpoint).open(Ec2Mode.AUTO));
      assertThat(r.value()).isEmpty();
      assertThat(r.elapsed()).isLessThan(FAST);
      System.out.println("not-ec2 detection, silent listener: " + r.elapsed().toMillis() + " ms");
    }
  }

  @Test
  void autoTreatsA5xxProbeAsNotEc2() {
    try (ImdsEmulator imds = ImdsEmulator.builder().start()) {
      imds.injectFault(Fault.of(503, true), Integer.MAX_VALUE);
      assertThat(detector(imds.endpoint()).open(Ec2Mode.AUTO)).isEmpty();
      assertThat(imds.requests()).as("the probe makes one attempt").hasSize(1);
    }
  }

  @Test
  void onFailsClearlyWhenImdsIsUnreachable() {
    URI closed = URI.create("http://127.0.0.1:" + Ports.free());
    assertThatThrownBy(() -> detector(closed).open(Ec2Mode.ON))
        .isInstanceOf(Ec2UnavailableException.class)
        .hasMessageContaining("ec2: on")
        .hasMessageContaining(closed.toString())
        .hasMessageContaining("/latest/meta-data/instance-id")
        .hasMessageContaining("Connection refused");
  }

  @Test
  void onFailsClearlyWhenAnItemIsMissing() {
    try (ImdsEmulator imds = ImdsEmulator.builder().start()) {
      imds.injectFault(
          new Fault(404, false, "/latest/meta-data/placement/availability-zone-id"),
          Integer.MAX_VALUE);
      assertThatThrownBy(() -> detector(imds.endpoint()).open(Ec2Mode.ON))
          .isInstanceOf(Ec2UnavailableException.class)
          .hasMessageContaining("availability-zone-id")
          .hasMessageContaining("404");
    }
  }

  @Test
  void onSucceedsOnEc2() {
    try (ImdsEmulator imds = ImdsEmulator.builder().start();
        Ec2Metadata m = detector(imds.endpoint()).open(Ec2Mode.ON).orElseThrow()) {
      assertThat(m.identity().availabilityZone()).isEqualTo("us-east-1a");
    }
  }

  @Test
  void offNeverTouchesImds() {
    try (ImdsEmulator imds = ImdsEmulator.builder().start()) {
      assertThat(detector(imds.endpoint()).open(Ec2Mode.OFF)).isEmpty();
      assertThat(imds.requests()).isEmpty();
    }
  }

  @Test
  void modesParse() {
    assertThat(Ec2Mode.parse("auto")).isEqualTo(Ec2Mode.AUTO);
    assertThat(Ec2Mode.parse(" ON ")).isEqualTo(Ec2Mode.ON);
    assertThat(Ec2Mode.OFF).hasToString("off");
    assertThatThrownBy(() -> Ec2Mode.parse("yes")).hasMessageContaining("auto, on, off");
  }

  private record Timed<T>(T value, Duration elapsed) {}

  private static <T> Timed<T> timed(Supplier<T> action) {
    long start = System.nanoTime();
    T value = action.get();
    return new Timed<>(value, Duration.ofNanos(System.nanoTime() - start));
  }
}
