package dev.envoyagent.envoy;

import static org.assertj.core.api.Assertions.assertThat;

import dev.envoyagent.envoy.InotifyBudget.InotifyLimit;
import org.junit.jupiter.api.Test;

class InotifyBudgetTest {

  @Test
  void aHotRestartNeedsTwiceTheSubscriptions() {
    // 60 HTTP services with endpoints: LDS + CDS + 60 RDS + 60 EDS files.
    assertThat(new InotifyBudget(122).instancesNeeded()).isEqualTo(244);
  }

  @Test
  void theDefaultLimitOf128IsTooSmallForSixtyServicesAndTheSysctlIsNamed() {
    var shortfall = new InotifyBudget(122).shortfall(new InotifyLimit(128, 2, "envoy (uid 998)"));
    assertThat(shortfall)
        .hasValueSatisfying(
            why ->
                assertThat(why)
                    .contains("need 244 inotify instances")
                    .contains(
                        "fs.inotify.max_user_instances=128 leaves 126 for user envoy (uid 998)")
                    .contains("sysctl -w fs.inotify.max_user_instances="));
  }

  @Test
  void aNeedThatFitsWhatOthersLeaveIsFine() {
    assertThat(new InotifyBudget(100).shortfall(new InotifyLimit(8192, 7992, "u"))).isEmpty();
    assertThat(new InotifyBudget(100).shortfall(new InotifyLimit(8192, 7993, "u"))).isPresent();
  }
}
