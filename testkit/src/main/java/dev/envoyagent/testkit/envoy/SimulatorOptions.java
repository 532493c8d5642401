package dev.envoyagent.testkit.envoy;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Envoy's command line as the simulator understands it. Flags Envoy has but that change nothing
 * here are accepted and ignored; anything else is refused the way Envoy's TCLAP parser does.
 */
record SimulatorOptions(
    String configPath,
    String configYaml,
    Mode mode,
    int restartEpoch,
    long baseId,
    boolean useDynamicBaseId,
    String baseIdPath,
    int drainTimeS,
    int parentShutdownTimeS,
    DrainStrategy drainStrategy,
    boolean hotRestartVersion,
    boolean disableHotRestart,
    boolean skipHotRestartOnNoParent,
    int concurrency,
    String logPath,
    String logLevel,
    String serviceNode,
    String serviceCluster,
    String serviceZone,
    String socketPath,
    boolean version,
    boolean allowUnknownStaticFields,
    boolean rejectUnknownDynamicFields,
    boolean ignoreUnknownDynamicFields) {

  enum Mode {
    SERVE,
    VALIDATE,
    INIT_ONLY
  }

  enum DrainStrategy {
    GRADUAL,
    IMMEDIATE
  }

  /** A command line Envoy would refuse; the message is what Envoy prints before exiting 1. */
  static final class OptionsException extends Exception {
    OptionsException(String message) {
      super(message);
    }
  }

  private static final Set<String> VALUED =
      Set.of(
          "config-path",
          "config-yaml",
          "mode",
          "restart-epoch",
          "base-id",
          "base-id-path",
          "drain-time-s",
          "parent-shutdown-time-s",
          "drain-strategy",
          "concurrency",
          "log-path",
          "log-level",
          "component-log-level",
          "log-format",
          "service-node",
          "service-cluster",
          "service-zone",
          "socket-path",
          "socket-mode",
          "file-flush-interval-msec",
          "local-address-ip-version",
          "disable-extensions",
          "stats-tag",
          "admin-address-path");
  private static final Set<String> SWITCHES =
      Set.of(
          "hot-restart-version",
          "disable-hot-restart",
          "skip-hot-restart-on-no-parent",
          "skip-hot-restart-parent-stats",
          "use-dynamic-base-id",
          "allow-unknown-static-fields",
          "reject-unknown-dynamic-fields",
          "ignore-unknown-dynamic-fields",
          "log-format-escaped",
          "enable-fine-grain-logging",
          "enable-mutex-tracing",
          "cpuset-threads",
          "enable-core-dump",
          "version",
          "skip-deprecated-logs");
  private static final Map<String, String> SHORT = Map.of("c", "config-path", "l", "log-level");

  static SimulatorOptions parse(List<String> args) throws OptionsException {
    Map<String, String> values = new LinkedHashMap<>();
    for (int i = 0; i < args.size(); i++) {
      String arg = args.get(i);
      String name;
      String inline = null;
      if (arg.startsWith("--")) {
        name = arg.substring(2);
        int eq = name.indexOf('=');
        if (eq >= 0) {
          inline = name.substring(eq + 1);
          name = name.substring(0, eq);
        }
      } else if (arg.startsWith("-") && SHORT.containsKey(arg.substring(1))) {
        name = SHORT.get(arg.substring(1));
      } else {
        throw parseError(arg, "Couldn't find match for argument");
      }
      if (SWITCHES.contains(name) && inline == null) {
        values.put(name, "true");
      } else if (VALUED.contains(name)) {
        if (inline == null) {
          if (i + 1 >= args.size()) {
            throw parseError(arg, "Missing a value for this argument!");
          }
          inline = args.get(++i);
        }
        values.put(name, inline);
      } else {
        throw parseError(arg, "Couldn't find match for argument");
      }
    }
    return build(values);
  }

  private static SimulatorOptions build(Map<String, String> v) throws OptionsException {
    Mode mode =
        switch (v.getOrDefault("mode", "serve")) {
          case "serve" -> Mode.SERVE;
          case "validate" -> Mode.VALIDATE;
          case "init_only" -> Mode.INIT_ONLY;
          default -> throw new OptionsException("error: unknown mode '" + v.get("mode") + "'");
        };
    DrainStrategy strategy =
        switch (v.getOrDefault("drain-strategy", "gradual")) {
          case "gradual" -> DrainStrategy.GRADUAL;
          case "immediate" -> DrainStrategy.IMMEDIATE;
          default ->
              throw new OptionsException(
                  "error: unknown drain strategy '" + v.get("drain-strategy") + "'");
        };
    int epoch = (int) number(v, "restart-epoch", 0, Integer.MAX_VALUE);
    boolean dynamicBaseId = v.containsKey("use-dynamic-base-id");
    if (dynamicBaseId && epoch > 0) {
      throw new OptionsException(
          "error: cannot use --restart-epoch=" + epoch + " with --use-dynamic-base-id");
    }
    String logLevel = v.getOrDefault("log-level", "info");
    if (!Set.of("trace", "debug", "info", "warning", "warn", "error", "critical", "off")
        .contains(logLevel)) {
      throw new OptionsException("error: invalid log level specified '" + logLevel + "'");
    }
    return new SimulatorOptions(
        v.get("config-path"),
        v.get("config-yaml"),
        mode,
        epoch,
        number(v, "base-id", 0, Long.MAX_VALUE),
        dynamicBaseId,
        v.get("base-id-path"),
        (int) number(v, "drain-time-s", 600, Integer.MAX_VALUE),
        (int) number(v, "parent-shutdown-time-s", 900, Integer.MAX_VALUE),
        strategy,
        v.containsKey("hot-restart-version"),
        v.containsKey("disable-hot-restart"),
        v.containsKey("skip-hot-restart-on-no-parent"),
        (int) number(v, "concurrency", Runtime.getRuntime().availableProcessors(), 1024),
        v.get("log-path"),
        logLevel,
        v.getOrDefault("service-node", ""),
        v.getOrDefault("service-cluster", ""),
        v.getOrDefault("service-zone", ""),
        v.getOrDefault("socket-path", "@envoy_domain_socket"),
        v.containsKey("version"),
        v.containsKey("allow-unknown-static-fields"),
        v.containsKey("reject-unknown-dynamic-fields"),
        v.containsKey("ignore-unknown-dynamic-fields"));
  }

  private static long number(Map<String, String> v, String name, long dflt, long max)
      throws OptionsException {
    String text = v.get(name);
    if (text == null) {
      return dflt;
    }
    try {
      long value = Long.parseLong(text.trim());
      if (value < 0 || value > max) {
        throw new NumberFormatException();
      }
      return value;
    } catch (NumberFormatException e) {
      throw parseError("--" + name, "Couldn't read argument value from string '" + text + "'");
    }
  }

  private static OptionsException parseError(String arg, String why) {
    return new OptionsException(
        "PARSE ERROR: Argument: "
            + arg
            + "\n             "
            + why
            + "\n\nFor complete USAGE and HELP type: \n   envoy --help\n");
  }
}
