package dev.envoyagent.agent;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

class ConfigReloadTest {

  @Test
  void aHundredSignalsInASecondGiveTwoReloadsAndALaterSignalOneMore() throws Exception {
    ScheduledExecutorService executor = Executors.newSingleThreadScheduledExecutor();
    AtomicInteger reloads = new AtomicInteger();
    ConfigReload reload =
        new ConfigReload(
            executor, reloads::incrementAndGet, System::nanoTime, Duration.ofSeconds(1));
    try {
      for (int i = 0; i < 50; i++) {
        reload.request();
      }
      Thread.sleep(300);
      assertThat(reloads.get()).as("the first at once").isEqualTo(1);
      for (int i = 0; i < 50; i++) {
        reload.request();
      }
      Thread.sleep(1500);
      assertThat(reloads.get()).as("one more for the rest, a second after the first").isEqualTo(2);

      Thread.sleep(1100);
      reload.request();
      Thread.sleep(300);
      assertThat(reloads.get()).as("a signal after a quiet second reloads at once").isEqualTo(3);
    } finally {
      executor.shutdownNow();
    }
  }
}
