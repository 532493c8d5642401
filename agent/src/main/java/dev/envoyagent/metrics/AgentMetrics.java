package dev.envoyagent.metrics;

import com.codahale.metrics.Counter;
import com.codahale.metrics.Gauge;
import com.codahale.metrics.MetricRegistry;
import com.codahale.metrics.Timer;
import com.codahale.metrics.jmx.JmxReporter;
import com.codahale.metrics.jvm.GarbageCollectorMetricSet;
import com.codahale.metrics.jvm.MemoryUsageGaugeSet;
import com.codahale.metrics.jvm.ThreadStatesGaugeSet;
import io.prometheus.metrics.expositionformats.PrometheusTextFormatWriter;
import io.prometheus.metrics.instrumentation.dropwizard.DropwizardExports;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.function.Supplier;

/**
 * The agent's one metric registry. Names are {@code envoy_agent.<area>.<what>}; the same registry
 * is exposed as Prometheus text, through JMX, and optionally pushed to statsd.
 */
public final class AgentMetrics {

  public static final String PREFIX = "envoy_agent";

  private final MetricRegistry registry = new MetricRegistry();
  private final PrometheusRegistry prometheus = new PrometheusRegistry();
  private final PrometheusTextFormatWriter writer = PrometheusTextFormatWriter.create();

  public AgentMetrics() {
    registry.register(name("jvm", "memory"), new MemoryUsageGaugeSet());
    registry.register(name("jvm", "gc"), new GarbageCollectorMetricSet());
    registry.register(name("jvm", "threads"), new ThreadStatesGaugeSet());
    DropwizardExports.builder().dropwizardRegistry(registry).register(prometheus);
  }

  public static String name(String area, String what) {
    return PREFIX + "." + area + "." + what;
  }

  public MetricRegistry registry() {
    return registry;
  }

  public Counter counter(String area, String what) {
    return registry.counter(name(area, what));
  }

  public Timer timer(String area, String what) {
    return registry.timer(name(area, what));
  }

  /** Registers a gauge once; later calls with the same name keep the first. */
  public <T extends Number> void gauge(String area, String what, Supplier<T> value) {
    String name = name(area, what);
    if (!registry.getGauges().containsKey(name)) {
      registry.register(name, (Gauge<T>) value::get);
    }
  }

  /** Everything, in the Prometheus text format (0.0.4). */
  public String prometheusText() {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    try {
      writer.write(out, prometheus.scrape());
    } catch (IOException e) {
      throw new IllegalStateException("writing to memory cannot fail", e);
    }
    return out.toString(StandardCharsets.UTF_8);
  }

  public String prometheusContentType() {
    return writer.getContentType();
  }

  /** Publishes every metric as an MBean under the domain {@code envoy_agent}. */
  public JmxReporter startJmx() {
    JmxReporter reporter = JmxReporter.forRegistry(registry).inDomain(PREFIX).build();
    reporter.start();
    return reporter;
  }
}
