package dev.envoyagent.metrics;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class StatsdReporterTest {

  @Test
  void pushesCountersAsDeltasGaugesAsValuesAndTimersAsMilliseconds() throws Exception {
    AgentMetrics metrics = new AgentMetrics();
    try (DatagramSocket statsd = new DatagramSocket(0, InetAddress.getLoopbackAddress())) {
      statsd.setSoTimeout(5000);
      StatsdReporter reporter =
          new StatsdReporter(
              metrics.registry(), new InetSocketAddress("127.0.0.1", statsd.getLocalPort()));
      metrics.counter("snapshots", "applied").inc(3);
      metrics.gauge("envoy", "live_epochs", () -> 2);
      metrics.timer("heartbeat", "latency").update(40, TimeUnit.MILLISECONDS);
      reporter.report();
      String first = receiveAll(statsd);
      metrics.counter("snapshots", "applied").inc(2);
      reporter.report();
      String second = receiveAll(statsd);

      assertThat(first)
          .contains("envoy_agent.snapshots.applied:3|c\n")
          .contains("envoy_agent.envoy.live_epochs:2|g\n")
          .contains("envoy_agent.heartbeat.latency.mean_ms:40.0|g\n");
      assertThat(second)
          .as("counters are sent as what changed since the last push")
          .contains("envoy_agent.snapshots.applied:2|c\n");
    }
  }

  /** Every datagram of one report (they are batched to stay under 1,400 bytes). */
  private static String receiveAll(DatagramSocket socket) throws Exception {
    StringBuilder all = new StringBuilder();
    byte[] buffer = new byte[2048];
    socket.setSoTimeout(5000);
    while (true) {
      DatagramPacket packet = new DatagramPacket(buffer, buffer.length);
      try {
        socket.receive(packet);
      } catch (java.net.SocketTimeoutException e) {
        return all.toString();
      }
      assertThat(packet.getLength()).isLessThanOrEqualTo(1400);
      all.append(new String(packet.getData(), 0, packet.getLength(), StandardCharsets.UTF_8));
      socket.setSoTimeout(300);
    }
  }
}
