package dev.envoyagent.ec2;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.time.Instant;
import org.junit.jupiter.api.Test;

class TerminationNoticesTest {
  private static final Instant NOW = Instant.parse("2025-06-01T12:00:00Z");

  @Test
  void spotNoticeCarriesActionAndTime() {
    TerminationNotice n =
        TerminationNotices.fromSpot(
            "{\"action\":\"terminate\",\"time\":\"2025-06-01T12:01:55Z\"}", NOW);
    assertThat(n.kind()).isEqualTo(TerminationNotice.Kind.SPOT_INTERRUPTION);
    assertThat(n.action()).isEqualTo("terminate");
    assertThat(n.deadline()).isEqualTo(Instant.parse("2025-06-01T12:01:55Z"));
    assertThat(n.remaining(NOW)).isEqualTo(Duration.ofSeconds(115));
    assertThat(n.remaining(NOW.plusSeconds(500))).isZero();
  }

  @Test
  void anUnreadableSpotNoticeIsStillANoticeTwoMinutesOut() {
    for (String body :
        new String[] {"not json", "{\"action\":\"stop\",\"time\":\"soon\"}", "[]", ""}) {
      TerminationNotice n = TerminationNotices.fromSpot(body, NOW);
      assertThat(n.deadline()).as(body).isEqualTo(NOW.plusSeconds(120));
    }
    assertThat(TerminationNotices.fromSpot("{\"action\":\"stop\",\"time\":\"soon\"}", NOW).action())
        .isEqualTo("stop");
  }

  @Test
  void onlyTerminalLifecycleStatesAreNotices() {
    Duration grace = Duration.ofSeconds(90);
    for (String s :
        new String[] {"InService", "Standby", "Detached", "Warmed:Stopped", "Pending"}) {
      assertThat(TerminationNotices.fromLifecycle(s, NOW, grace)).as(s).isEmpty();
    }
    assertThat(TerminationNotices.fromLifecycle("Terminated\n", NOW, grace))
        .hasValueSatisfying(n -> assertThat(n.deadline()).isEqualTo(NOW.plus(grace)));
    assertThat(TerminationNotices.fromLifecycle("Warmed:Terminated", NOW, grace)).isPresent();
  }
}
