package dev.envoyagent.testkit.envoy;

import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongSupplier;
import java.util.function.Predicate;

/**
 * Counters, gauges and text readouts under Envoy's stat names (envoy/stats/stats.h). Histograms are
 * not modelled. A stat is "used" (Envoy's {@code ?usedonly}) once it changed; for counters and
 * gauges the simulator approximates that by a non-zero value, for text readouts by having been set.
 */
final class Stats {
  private final Map<String, AtomicLong> counters = new ConcurrentHashMap<>();
  private final Map<String, AtomicLong> gauges = new ConcurrentHashMap<>();
  private final Map<String, LongSupplier> computed = new ConcurrentHashMap<>();
  private final Map<String, TextReadout> textReadouts = new ConcurrentHashMap<>();

  /** Envoy's Stats::TextReadout: a string stat, shown as {@code name: "value"} by /stats. */
  static final class TextReadout {
    private volatile String value = "";
    private volatile boolean used;

    void set(String v) {
      value = v;
      used = true;
    }

    String value() {
      return value;
    }

    boolean used() {
      return used;
    }
  }

  AtomicLong counter(String name) {
    return counters.computeIfAbsent(name, n -> new AtomicLong());
  }

  /** Envoy shows a stat from the moment its owner exists, at zero. */
  void declare(String prefix, String... names) {
    for (String n : names) {
      counter(prefix + n);
    }
  }

  void inc(String name) {
    counter(name).incrementAndGet();
  }

  AtomicLong gauge(String name) {
    return gauges.computeIfAbsent(name, n -> new AtomicLong());
  }

  void computedGauge(String name, LongSupplier value) {
    computed.put(name, value);
  }

  TextReadout textReadout(String name) {
    return textReadouts.computeIfAbsent(name, n -> new TextReadout());
  }

  long value(String name) {
    AtomicLong c = counters.get(name);
    if (c != null) {
      return c.get();
    }
    AtomicLong g = gauges.get(name);
    if (g != null) {
      return g.get();
    }
    LongSupplier s = computed.get(name);
    return s == null ? 0 : s.getAsLong();
  }

  /** A text readout's value, or null when there is none of that name. */
  String text(String name) {
    TextReadout t = textReadouts.get(name);
    return t == null ? null : t.value();
  }

  /** Counter values only: what a parent hands its child during hot restart. */
  Map<String, Long> counterSnapshot() {
    Map<String, Long> out = new TreeMap<>();
    counters.forEach((k, v) -> out.put(k, v.get()));
    return out;
  }

  /**
   * Every counter and gauge by name, optionally filtered (Envoy's {@code ?filter=}, a partial
   * match).
   */
  Map<String, Long> snapshot(java.util.regex.Pattern filter, boolean usedOnly) {
    return numbers(
        filter == null ? n -> true : n -> filter.matcher(n).find(), usedOnly, true, true);
  }

  /** Counters and/or gauges whose name passes {@code filter}, sorted by name. */
  Map<String, Long> numbers(
      Predicate<String> filter, boolean usedOnly, boolean withCounters, boolean withGauges) {
    Map<String, Long> out = new TreeMap<>();
    if (withCounters) {
      counters.forEach((k, v) -> out.put(k, v.get()));
    }
    if (withGauges) {
      gauges.forEach((k, v) -> out.put(k, v.get()));
      computed.forEach((k, v) -> out.put(k, v.getAsLong()));
    }
    out.keySet().removeIf(k -> !filter.test(k));
    if (usedOnly) {
      out.values().removeIf(v -> v == 0);
    }
    return out;
  }

  /** Counters only (Prometheus renders counters and gauges as separate groups). */
  Map<String, Long> counters(Predicate<String> filter, boolean usedOnly) {
    return numbers(filter, usedOnly, true, false);
  }

  /** Gauges only. */
  Map<String, Long> gauges(Predicate<String> filter, boolean usedOnly) {
    return numbers(filter, usedOnly, false, true);
  }

  /** Text readouts whose name passes {@code filter}, sorted by name. */
  Map<String, String> texts(Predicate<String> filter, boolean usedOnly) {
    Map<String, String> out = new TreeMap<>();
    textReadouts.forEach(
        (k, v) -> {
          if (filter.test(k) && (!usedOnly || v.used())) {
            out.put(k, v.value());
          }
        });
    return out;
  }
}
