package dev.envoyagent.ec2;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.envoyagent.testkit.imds.Fault;
import dev.envoyagent.testkit.imds.ImdsEmulator;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class TerminationWatcherTest {
  private static final Instant T0 = Instant.parse("2025-06-01T12:00:00Z");
  private static final Clock CLOCK = Clock.fixed(T0, ZoneOffset.UTC);
  private static final TerminationWatcher.Settings FAST =
      new TerminationWatcher.Settings(Duration.ofMillis(20), 0.2, Duration.ofSeconds(90));

  private ImdsEmulator imds;
  private SdkEc2Metadata metadata;
  private final List<TerminationNotice> notices = new CopyOnWriteArrayList<>();

  @BeforeEach
  void start() {
    imds = ImdsEmulator.builder().clock(CLOCK).start();
    // Polls must be bounded: short timeouts, one retry.
    metadata =
        SdkEc2Metadata.create(
            Ec2MetadataOptions.defaults()
                .withEndpoint(imds.endpoint())
                .withTimeouts(Duration.ofMillis(300), Duration.ofMillis(300))
                .withRetries(1));
  }

  @AfterEach
  void stop() {
    metadata.close();
    imds.close();
  }

  private TerminationWatcher watcher() {
    return new TerminationWatcher(metadata, FAST, CLOCK, () -> 0.5, notices::add);
  }

  @Test
  void noNoticeWhileNothingIsScheduled() {
    imds.lifecycleState("InService");
    try (TerminationWatcher w = watcher()) {
      assertThat(w.pollOnce()).isEmpty();
    }
  }

  @Test
  void spotNoticeIsDeliveredOnceWithItsDeadline() {
    try (TerminationWatcher w = watcher()) {
      w.start();
      await()
          .atMost(Duration.ofSeconds(5))
          .until(() -> imds.count(TerminationWatcher.SPOT, 404) >= 2);
      assertThat(notices).isEmpty();

      imds.spotInterruption("terminate");

      await().atMost(Duration.ofSeconds(5)).until(() -> !notices.isEmpty());
      TerminationNotice n = notices.get(0);
      assertThat(n.kind()).isEqualTo(TerminationNotice.Kind.SPOT_INTERRUPTION);
      assertThat(n.action()).isEqualTo("terminate");
      assertThat(n.noticedAt()).isEqualTo(T0);
      assertThat(n.deadline()).isEqualTo(T0.plusSeconds(120));
      assertThat(n.remaining(T0)).isEqualTo(Duration.ofMinutes(2));
      assertThat(w.noticed()).isTrue();
      long polls = imds.count(TerminationWatcher.SPOT, 200);
      await()
          .during(Duration.ofMillis(200))
          .atMost(Duration.ofSeconds(2))
          .until(() -> notices.size() == 1 && imds.count(TerminationWatcher.SPOT, 200) == polls);
    }
  }

  @Test
  void lifecycleTerminatedIsANoticeWithTheGrace() {
    imds.lifecycleState("InService");
    try (TerminationWatcher w = watcher()) {
      w.start();
      await()
          .atMost(Duration.ofSeconds(5))
          .until(() -> imds.count(TerminationWatcher.LIFECYCLE, 200) >= 2);
      assertThat(notices).isEmpty();

      imds.lifecycleState("Terminated");

      await().atMost(Duration.ofSeconds(5)).until(() -> !notices.isEmpty());
      TerminationNotice n = notices.get(0);
      assertThat(n.kind()).isEqualTo(TerminationNotice.Kind.ASG_TERMINATION);
      assertThat(n.action()).isEqualTo("Terminated");
      assertThat(n.deadline()).isEqualTo(T0.plusSeconds(90));
    }
  }

  @Test
  void failuresAreQuietAndNoticesStillArriveAfterwards() {
    imds.injectFault(Fault.of(500, false), Integer.MAX_VALUE);
    try (TerminationWatcher w = watcher()) {
      assertThat(w.pollOnce()).isEmpty();
      imds.clearFault();
      imds.delayResponses(Duration.ofSeconds(3), Integer.MAX_VALUE);
      long start = System.nanoTime();
      assertThat(w.pollOnce()).isEmpty();
      assertThat(Duration.ofNanos(System.nanoTime() - start))
          .as("bounded by the timeouts")
          .isLessThan(Duration.ofSeconds(3));
      imds.clearDelay();
      imds.spotInterruption("stop");
      assertThat(w.pollOnce()).hasValueSatisfying(n -> assertThat(n.action()).isEqualTo("stop"));
    }
  }

  @Test
  void aNoticeSurvivesA401() {
    try (TerminationWatcher w = watcher()) {
      assertThat(w.pollOnce()).isEmpty();
      imds.invalidateAllTokens();
      imds.spotInterruption("hibernate");
      assertThat(w.pollOnce())
          .hasValueSatisfying(n -> assertThat(n.action()).isEqualTo("hibernate"));
      assertThat(metadata.clientRebuilds()).isEqualTo(1);
    }
  }

  @Test
  void aThrowingListenerDoesNotKillTheWatcherThread() {
    imds.spotInterruption("terminate");
    List<TerminationNotice> seen = new CopyOnWriteArrayList<>();
    try (TerminationWatcher w =
        new TerminationWatcher(
            metadata,
            FAST,
            CLOCK,
            () -> 0.5,
            n -> {
              seen.add(n);
              throw new IllegalStateException("listener bug");
            })) {
      w.start();
      await().atMost(Duration.ofSeconds(5)).until(() -> seen.size() == 1);
      assertThat(w.noticed()).isTrue();
    }
  }

  @Test
  void startIsGuardedAndCloseIdempotent() {
    TerminationWatcher w = watcher();
    w.start();
    assertThatThrownBy(w::start).isInstanceOf(IllegalStateException.class);
    w.close();
    w.close();
  }

  @Test
  void delaysAreJitteredWithinTwentyPercent() {
    Duration five = Duration.ofSeconds(5);
    assertThat(TerminationWatcher.nextDelay(five, 0.2, 0.0)).isEqualTo(Duration.ofSeconds(4));
    assertThat(TerminationWatcher.nextDelay(five, 0.2, 0.5)).isEqualTo(five);
    assertThat(TerminationWatcher.nextDelay(five, 0.2, 0.999_999))
        .isLessThan(Duration.ofSeconds(6))
        .isGreaterThan(Duration.ofMillis(5_999));
    assertThatThrownBy(() -> new TerminationWatcher.Settings(five, 0.7, five))
        .isInstanceOf(IllegalArgumentException.class);
  }
}
