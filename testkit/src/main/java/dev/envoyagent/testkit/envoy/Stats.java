package dev.envoyagent.testkit.envoy;

import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongSupplier;
import java.util.regex.Pattern;

/** Counters and gauges under Envoy's stat names. Histograms are not modelled. */
final class Stats {
    private final Map<String, AtomicLong> counters = new ConcurrentHashMap<>();
    private final Map<String, AtomicLong> gauges = new ConcurrentHashMap<>();
    private final Map<String, LongSupplier> computed = new ConcurrentHashMap<>();

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

    /** Counter values only: what a parent hands its child during hot restart. */
    Map<String, Long> counterSnapshot() {
        Map<String, Long> out = new TreeMap<>();
        counters.forEach((k, v) -> out.put(k, v.get()));
        return out;
    }

    /** Every stat by name, optionally filtered by a regular expression (Envoy's {@code ?filter=}). */
    Map<String, Long> snapshot(Pattern filter, boolean usedOnly) {
        Map<String, Long> out = new TreeMap<>();
        counters.forEach((k, v) -> out.put(k, v.get()));
        gauges.forEach((k, v) -> out.put(k, v.get()));
        computed.forEach((k, v) -> out.put(k, v.getAsLong()));
        out.keySet().removeIf(k -> filter != null && !filter.matcher(k).find());
        if (usedOnly) {
            out.values().removeIf(v -> v == 0);
        }
        return out;
    }
}
