package dev.envoyagent.testkit.envoy;

import java.util.Map;
import java.util.TreeMap;
import java.util.function.Predicate;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

/**
 * {@code GET /stats} and {@code /stats/prometheus} rendered as Envoy does
 * (source/server/admin/stats_params.cc StatsParams::parse, stats_request.cc StatsRequest,
 * stats_render.cc StatsTextRender/StatsJsonRender, prometheus_stats.cc): text readouts first, then
 * counters and gauges together, each group sorted by name; {@code filter} is an RE2 partial match;
 * {@code type} picks a group; {@code usedonly} hides what never changed. Histograms are not
 * modelled.
 */
final class StatsRender {
  /** A rendered answer. */
  record Answer(int status, String contentType, String body) {}

  private StatsRender() {}

  static Answer stats(Stats stats, Map<String, String> q) {
    Predicate<String> filter;
    try {
      filter = filter(q);
    } catch (PatternSyntaxException e) {
      return new Answer(400, "text/plain", "Invalid re2 regex");
    }
    String type = q.getOrDefault("type", "All");
    if (!java.util.Set.of("All", "TextReadouts", "Counters", "Gauges", "Histograms")
        .contains(type)) {
      return new Answer(400, "text/plain", "invalid &type= param");
    }
    String format = q.getOrDefault("format", "text");
    if ("prometheus".equals(format)) {
      return prometheus(stats, q);
    }
    if (!"json".equals(format) && !"text".equals(format)) {
      return new Answer(
          400, "text/plain", "usage: /stats?format=(html|active-html|json|prometheus|text)\n\n");
    }
    boolean usedOnly = q.containsKey("usedonly");
    boolean all = "All".equals(type);
    Map<String, String> texts =
        all || "TextReadouts".equals(type) ? stats.texts(filter, usedOnly) : Map.of();
    Map<String, Long> numbers =
        all || "Counters".equals(type) || "Gauges".equals(type)
            ? stats.numbers(filter, usedOnly, !"Gauges".equals(type), !"Counters".equals(type))
            : Map.of();
    StringBuilder sb = new StringBuilder();
    if ("json".equals(format)) {
      sb.append("{\"stats\":[");
      String sep = "";
      for (Map.Entry<String, String> e : texts.entrySet()) {
        sb.append(sep)
            .append("{\"name\":")
            .append(quote(e.getKey()))
            .append(",\"value\":")
            .append(quote(e.getValue()))
            .append('}');
        sep = ",";
      }
      for (Map.Entry<String, Long> e : numbers.entrySet()) {
        sb.append(sep)
            .append("{\"name\":")
            .append(quote(e.getKey()))
            .append(",\"value\":")
            .append(Long.toUnsignedString(e.getValue()))
            .append('}');
        sep = ",";
      }
      sb.append("]}");
      return new Answer(200, "application/json", sb.toString());
    }
    texts.forEach((k, v) -> sb.append(k).append(": \"").append(v).append("\"\n"));
    numbers.forEach(
        (k, v) -> sb.append(k).append(": ").append(Long.toUnsignedString(v)).append('\n'));
    return new Answer(200, "text/plain; charset=UTF-8", sb.toString());
  }

  /**
   * Prometheus exposition: counters, then gauges, then text readouts (only with {@code
   * ?text_readouts}, as gauges of value 1 with a {@code text_value} label). The simulator does no
   * tag extraction: every stat is its own metric name with no labels.
   */
  static Answer prometheus(Stats stats, Map<String, String> q) {
    Predicate<String> filter;
    try {
      filter = filter(q);
    } catch (PatternSyntaxException e) {
      return new Answer(400, "text/plain", "Invalid re2 regex");
    }
    boolean usedOnly = q.containsKey("usedonly");
    StringBuilder sb = new StringBuilder();
    group(sb, stats.counters(filter, usedOnly), "counter");
    group(sb, stats.gauges(filter, usedOnly), "gauge");
    if (q.containsKey("text_readouts")) {
      Map<String, String> texts = new TreeMap<>(stats.texts(filter, usedOnly));
      texts.forEach(
          (k, v) -> {
            String name = promName(k);
            sb.append("# TYPE ")
                .append(name)
                .append(" gauge\n")
                .append(name)
                .append("{text_value=\"")
                .append(v)
                .append("\"} 1\n\n");
          });
    }
    return new Answer(200, "text/plain; version=0.0.4", sb.toString());
  }

  private static void group(StringBuilder sb, Map<String, Long> values, String type) {
    values.forEach(
        (k, v) -> {
          String name = promName(k);
          sb.append("# TYPE ")
              .append(name)
              .append(' ')
              .append(type)
              .append('\n')
              .append(name)
              .append("{} ")
              .append(Long.toUnsignedString(v))
              .append("\n\n");
        });
  }

  static String promName(String stat) {
    return "envoy_" + stat.replaceAll("[^a-zA-Z0-9_]", "_");
  }

  private static Predicate<String> filter(Map<String, String> q) {
    if (!q.containsKey("filter")) {
      return n -> true;
    }
    Pattern p = Re2.compile(q.get("filter"));
    return n -> p.matcher(n).find(); // RE2::PartialMatch
  }

  static String quote(String s) {
    StringBuilder sb = new StringBuilder("\"");
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      switch (c) {
        case '"' -> sb.append("\\\"");
        case '\\' -> sb.append("\\\\");
        case '\n' -> sb.append("\\n");
        case '\r' -> sb.append("\\r");
        case '\t' -> sb.append("\\t");
        default -> {
          if (c < 0x20) {
            sb.append(String.format("\\u%04x", (int) c));
          } else {
            sb.append(c);
          }
        }
      }
    }
    return sb.append('"').toString();
  }
}
