package dev.envoyagent.it;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A strict parser of the Prometheus text exposition format 0.0.4, enough to prove that the agent's
 * {@code /metrics} is what a Prometheus server accepts: metric and label names, escaped label
 * values, Go float values, optional timestamps, at most one {@code # TYPE} and {@code # HELP} per
 * family (TYPE before its samples), known types, each family's samples in one group, no duplicate
 * series. Anything else throws with the line number.
 */
final class PrometheusText {

  private static final Pattern NAME = Pattern.compile("[a-zA-Z_:][a-zA-Z0-9_:]*");
  private static final Pattern LABEL_NAME = Pattern.compile("[a-zA-Z_][a-zA-Z0-9_]*");
  private static final Pattern COMMENT =
      Pattern.compile("# (HELP|TYPE) (" + NAME.pattern() + ")(?: (.*))?");
  private static final Set<String> TYPES =
      Set.of("counter", "gauge", "histogram", "summary", "untyped");
  private static final List<String> SUFFIXES =
      List.of("_total", "_count", "_sum", "_bucket", "_created", "_info");

  record Sample(String name, Map<String, String> labels, double value) {}

  private final List<Sample> samples;
  private final Map<String, String> types;

  private PrometheusText(List<Sample> samples, Map<String, String> types) {
    this.samples = samples;
    this.types = types;
  }

  List<Sample> samples() {
    return samples;
  }

  /** The declared type of a family, or null. */
  String type(String family) {
    return types.get(family);
  }

  /**
   * The value of the one unlabelled sample {@code name}; 0 when the series is absent (a counter not
   * yet created).
   */
  double value(String name) {
    return samples.stream()
        .filter(s -> s.name().equals(name) && s.labels().isEmpty())
        .mapToDouble(Sample::value)
        .findFirst()
        .orElse(0);
  }

  boolean has(String name) {
    return samples.stream().anyMatch(s -> s.name().equals(name));
  }

  static PrometheusText parse(String text) {
    List<Sample> samples = new ArrayList<>();
    Map<String, String> types = new LinkedHashMap<>();
    Set<String> helps = new HashSet<>();
    Set<String> closedFamilies = new HashSet<>();
    Set<String> series = new HashSet<>();
    String currentFamily = null;
    if (!text.isEmpty() && !text.endsWith("\n")) {
      throw new IllegalArgumentException("the text must end with a line feed");
    }
    String[] lines = text.split("\n", -1);
    for (int i = 0; i < lines.length - 1; i++) {
      String line = lines[i];
      String where = "line " + (i + 1) + " \"" + line + "\": ";
      if (line.isBlank()) {
        continue;
      }
      if (line.startsWith("#")) {
        Matcher m = COMMENT.matcher(line);
        if (!m.matches()) {
          continue; // a plain comment
        }
        String family = m.group(2);
        if (m.group(1).equals("TYPE")) {
          String type = m.group(3);
          if (!TYPES.contains(type)) {
            throw new IllegalArgumentException(where + "unknown type " + type);
          }
          if (types.put(family, type) != null) {
            throw new IllegalArgumentException(where + "second TYPE for " + family);
          }
          if (samples.stream().anyMatch(s -> familyOf(s.name(), types).equals(family))) {
            throw new IllegalArgumentException(where + "TYPE after samples of " + family);
          }
        } else if (!helps.add(family)) {
          throw new IllegalArgumentException(where + "second HELP for " + family);
        }
        continue;
      }
      Sample sample = sample(line, where);
      String family = familyOf(sample.name(), types);
      if (!family.equals(currentFamily)) {
        if (currentFamily != null) {
          closedFamilies.add(currentFamily);
        }
        if (closedFamilies.contains(family)) {
          throw new IllegalArgumentException(
              where + "samples of " + family + " are not in one group");
        }
        currentFamily = family;
      }
      if (!series.add(sample.name() + sample.labels())) {
        throw new IllegalArgumentException(where + "duplicate series");
      }
      samples.add(sample);
    }
    return new PrometheusText(samples, types);
  }

  /**
   * The declared family a sample belongs to: itself, or its name without a
   * summary/histogram/counter suffix.
   */
  private static String familyOf(String name, Map<String, String> types) {
    if (types.containsKey(name)) {
      return name;
    }
    for (String suffix : SUFFIXES) {
      if (name.endsWith(suffix)
          && types.containsKey(name.substring(0, name.length() - suffix.length()))) {
        return name.substring(0, name.length() - suffix.length());
      }
    }
    return name;
  }

  private static Sample sample(String line, String where) {
    int i = 0;
    while (i < line.length() && line.charAt(i) != '{' && line.charAt(i) != ' ') {
      i++;
    }
    String name = line.substring(0, i);
    if (!NAME.matcher(name).matches()) {
      throw new IllegalArgumentException(where + "bad metric name");
    }
    Map<String, String> labels = new LinkedHashMap<>();
    if (i < line.length() && line.charAt(i) == '{') {
      i++;
      while (line.charAt(i) != '}') {
        int eq = line.indexOf('=', i);
        if (eq < 0) {
          throw new IllegalArgumentException(where + "label without '='");
        }
        String labelName = line.substring(i, eq);
        if (!LABEL_NAME.matcher(labelName).matches()
            || eq + 1 >= line.length()
            || line.charAt(eq + 1) != '"') {
          throw new IllegalArgumentException(where + "bad label " + labelName);
        }
        StringBuilder value = new StringBuilder();
        int j = eq + 2;
        for (; j < line.length() && line.charAt(j) != '"'; j++) {
          char c = line.charAt(j);
          if (c == '\\') {
            char next = line.charAt(++j);
            if (next != '\\' && next != '"' && next != 'n') {
              throw new IllegalArgumentException(where + "bad escape \\" + next);
            }
            value.append(next == 'n' ? '\n' : next);
          } else {
            value.append(c);
          }
        }
        if (j >= line.length()) {
          throw new IllegalArgumentException(where + "unterminated label value");
        }
        if (labels.put(labelName, value.toString()) != null) {
          throw new IllegalArgumentException(where + "duplicate label " + labelName);
        }
        i = j + 1;
        if (line.charAt(i) == ',') {
          i++;
        } else if (line.charAt(i) != '}') {
          throw new IllegalArgumentException(where + "expected ',' or '}'");
        }
      }
      i++;
    }
    if (i >= line.length() || line.charAt(i) != ' ') {
      throw new IllegalArgumentException(where + "no value");
    }
    String[] rest = line.substring(i + 1).strip().split(" +");
    if (rest.length > 2) {
      throw new IllegalArgumentException(where + "trailing text");
    }
    double value;
    switch (rest[0]) {
      case "NaN" -> value = Double.NaN;
      case "+Inf" -> value = Double.POSITIVE_INFINITY;
      case "-Inf" -> value = Double.NEGATIVE_INFINITY;
      default -> {
        try {
          value = Double.parseDouble(rest[0]);
        } catch (NumberFormatException e) {
          throw new IllegalArgumentException(where + "bad value " + rest[0]);
        }
        if (rest[0].endsWith("d")
            || rest[0].endsWith("f")
            || rest[0].endsWith("D")
            || rest[0].endsWith("F")) {
          throw new IllegalArgumentException(where + "bad value " + rest[0]);
        }
      }
    }
    if (rest.length == 2 && !rest[1].matches("-?[0-9]+")) {
      throw new IllegalArgumentException(where + "bad timestamp " + rest[1]);
    }
    return new Sample(name, Map.copyOf(labels), value);
  }
}
