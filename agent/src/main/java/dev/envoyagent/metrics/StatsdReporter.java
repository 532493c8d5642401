package dev.envoyagent.metrics;

import com.codahale.metrics.Counter;
import com.codahale.metrics.Gauge;
import com.codahale.metrics.Histogram;
import com.codahale.metrics.Meter;
import com.codahale.metrics.MetricFilter;
import com.codahale.metrics.MetricRegistry;
import com.codahale.metrics.ScheduledReporter;
import com.codahale.metrics.Timer;
import java.io.IOException;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Map;
import java.util.SortedMap;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Pushes the registry to a statsd daemon over UDP, as SmartStack shops run one on every host:
 * counters as deltas ({@code |c}), gauges as values ({@code |g}), timers as their mean and p99 in
 * milliseconds ({@code |g}). Lines are batched into datagrams of at most 1,400 bytes.
 */
public final class StatsdReporter extends ScheduledReporter {

  private static final Logger LOG = LoggerFactory.getLogger(StatsdReporter.class);
  private static final int MAX_DATAGRAM = 1_400;

  private final InetSocketAddress target;
  private final Map<String, Long> lastCounts = new HashMap<>();
  private boolean failing;

  public StatsdReporter(MetricRegistry registry, InetSocketAddress target) {
    super(registry, "statsd-reporter", MetricFilter.ALL, TimeUnit.SECONDS, TimeUnit.MILLISECONDS);
    this.target = target;
  }

  @Override
  @SuppressWarnings("rawtypes") // the signature is ScheduledReporter's
  public void report(
      SortedMap<String, Gauge> gauges,
      SortedMap<String, Counter> counters,
      SortedMap<String, Histogram> histograms,
      SortedMap<String, Meter> meters,
      SortedMap<String, Timer> timers) {
    StringBuilder lines = new StringBuilder();
    gauges.forEach(
        (name, gauge) -> {
          if (gauge.getValue() instanceof Number number) {
            lines.append(name).append(':').append(number).append("|g\n");
          }
        });
    counters.forEach(
        (name, counter) -> {
          long now = counter.getCount();
          long delta = now - lastCounts.getOrDefault(name, 0L);
          lastCounts.put(name, now);
          lines.append(name).append(':').append(delta).append("|c\n");
        });
    timers.forEach(
        (name, timer) -> {
          var snapshot = timer.getSnapshot();
          lines
              .append(name)
              .append(".mean_ms:")
              .append(convertDuration(snapshot.getMean()))
              .append("|g\n");
          lines
              .append(name)
              .append(".p99_ms:")
              .append(convertDuration(snapshot.get99thPercentile()))
              .append("|g\n");
        });
    send(lines.toString());
  }

  private void send(String lines) {
    try (DatagramSocket socket = new DatagramSocket()) {
      StringBuilder batch = new StringBuilder();
      for (String line : lines.split("\n")) {
        if (batch.length() + line.length() + 1 > MAX_DATAGRAM && batch.length() > 0) {
          datagram(socket, batch.toString());
          batch.setLength(0);
        }
        batch.append(line).append('\n');
      }
      if (batch.length() > 0) {
        datagram(socket, batch.toString());
      }
      if (failing) {
        LOG.info("statsd reachable again target={}", target);
        failing = false;
      }
    } catch (IOException e) {
      if (!failing) {
        LOG.warn("statsd push failed target={} reason={}", target, e.getMessage());
        failing = true;
      }
    }
  }

  private void datagram(DatagramSocket socket, String payload) throws IOException {
    byte[] bytes = payload.getBytes(StandardCharsets.UTF_8);
    socket.send(new DatagramPacket(bytes, bytes.length, target));
  }
}
