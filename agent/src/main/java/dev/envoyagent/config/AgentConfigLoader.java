package dev.envoyagent.config;

import dev.envoyagent.config.AgentSettings.ControlPlaneSettings;
import dev.envoyagent.config.AgentSettings.EnvoySettings;
import dev.envoyagent.config.AgentSettings.HeartbeatSettings;
import dev.envoyagent.config.AgentSettings.ListenAddress;
import dev.envoyagent.config.AgentSettings.LocalServiceSettings;
import dev.envoyagent.config.AgentSettings.NodeSettings;
import dev.envoyagent.config.AgentSettings.TlsFiles;
import dev.envoyagent.config.proto.AgentConfig;
import dev.envoyagent.config.proto.ControlPlaneConfig;
import dev.envoyagent.config.proto.EnvoyConfig;
import dev.envoyagent.config.proto.HeartbeatConfig;
import dev.envoyagent.config.proto.LocalServiceConfig;
import dev.envoyagent.model.Addresses;
import dev.envoyagent.model.Documents;
import dev.envoyagent.model.InvalidInputException;
import dev.envoyagent.model.Problem;
import dev.envoyagent.model.StrictProtoDecoder;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * Reads agent.yaml: strict decoding, then defaults and cross-field rules. Relative paths are
 * resolved against the directory of the file, so a config and its routes file travel together.
 */
public final class AgentConfigLoader {

  public static final String DEFAULT_ENVOY_BINARY = "/usr/bin/envoy";
  public static final String DEFAULT_STATE_DIR = "/var/lib/envoy-agent";
  public static final int DEFAULT_ADMIN_PORT = 9901;
  public static final int DEFAULT_DRAIN_TIME_S = 60;
  public static final int DEFAULT_PARENT_SHUTDOWN_TIME_S = 90;
  public static final String DEFAULT_ADMIN_LISTEN = "127.0.0.1:9902";
  public static final int DEFAULT_HISTORY_KEEP = 10;
  public static final int DEFAULT_CONCURRENCY = 2;
  public static final int DEFAULT_READY_TIMEOUT_S = 60;
  public static final int DEFAULT_RESTART_MIN_INTERVAL_MS = 5_000;
  public static final int DEFAULT_RESTART_DEBOUNCE_MS = 500;
  public static final int DEFAULT_SPLAY_MS = 5_000;
  public static final int DEFAULT_CONNECT_TIMEOUT_MS = 5_000;
  public static final int DEFAULT_HEARTBEAT_INTERVAL_MS = 10_000;
  public static final int DEFAULT_HEARTBEAT_TIMEOUT_MS = 3_000;
  public static final int DEFAULT_CHECK_INTERVAL_MS = 1_000;
  public static final int DEFAULT_CHECK_TIMEOUT_MS = 500;
  public static final int DEFAULT_RISE = 2;
  public static final int DEFAULT_FALL = 2;
  private static final Pattern SERVICE_NAME = Pattern.compile("[a-z0-9][a-z0-9._-]{0,62}");

  private static final Pattern NODE_ID = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._:-]{0,127}");
  private static final Pattern ZONE = Pattern.compile("[a-z0-9][a-z0-9-]{0,63}");
  private static final Pattern LISTEN =
      Pattern.compile("(?:\\[([0-9A-Fa-f:.]+)]|([A-Za-z0-9.-]+)):([0-9]{1,5})");

  private AgentConfigLoader() {}

  public static AgentSettings load(Path file) throws InvalidInputException {
    byte[] content;
    try {
      content = Files.readAllBytes(file);
    } catch (NoSuchFileException e) {
      throw new InvalidInputException(
          file.toString(), List.of(new Problem("", "no such file: " + file)));
    } catch (IOException e) {
      throw new InvalidInputException(
          file.toString(), List.of(new Problem("", "cannot read " + file + ": " + e)));
    }
    Path base = file.toAbsolutePath().getParent();
    return parse(content, base, file.toString());
  }

  /**
   * Parses agent.yaml content; {@code base} is the directory relative paths are resolved against.
   */
  public static AgentSettings parse(byte[] content, Path base, String sourceName)
      throws InvalidInputException {
    Documents.Parsed document = Documents.parse(content);
    if (!document.ok()) {
      throw new InvalidInputException(sourceName, document.problems());
    }
    AgentConfig.Builder builder = AgentConfig.newBuilder();
    // YAML 1.1 reads an unquoted `ec2: on` / `ec2: off` as a boolean; take it as the word it looks
    // like.
    if (document.tree() instanceof com.fasterxml.jackson.databind.node.ObjectNode root
        && root.path("ec2").isBoolean()) {
      root.put("ec2", root.get("ec2").booleanValue() ? "on" : "off");
    }
    List<Problem> problems = new ArrayList<>(StrictProtoDecoder.decode(document.tree(), builder));
    AgentConfig config = builder.build();
    List<Problem> semantic = new ArrayList<>();
    AgentSettings settings = toSettings(config, base, semantic);
    for (Problem problem : semantic) {
      if (problems.stream().noneMatch(structural -> problem.isAtOrUnder(structural.path()))) {
        problems.add(problem);
      }
    }
    if (!problems.isEmpty()) {
      throw new InvalidInputException(sourceName, problems);
    }
    return settings;
  }

  private static AgentSettings toSettings(AgentConfig config, Path base, List<Problem> out) {
    var node = config.getNode();
    if (node.getId().isEmpty()) {
      out.add(
          new Problem("node.id", "must be set (this host's unique name, e.g. its instance id)"));
    } else if (!NODE_ID.matcher(node.getId()).matches()) {
      out.add(
          new Problem(
              "node.id",
              "\"" + node.getId() + "\" must be 1-128 letters, digits, '.', '_', ':' or '-'"));
    }
    if (node.getCluster().isEmpty()) {
      out.add(new Problem("node.cluster", "must be set (the group of hosts this one belongs to)"));
    } else if (!NODE_ID.matcher(node.getCluster()).matches()) {
      out.add(
          new Problem(
              "node.cluster",
              "\"" + node.getCluster() + "\" must be 1-128 letters, digits, '.', '_', ':' or '-'"));
    }
    if (!node.getZone().isEmpty() && !ZONE.matcher(node.getZone()).matches()) {
      out.add(
          new Problem(
              "node.zone",
              "\""
                  + node.getZone()
                  + "\" must be lowercase letters, digits and '-' (e.g. us-east-1a)"));
    }
    Optional<Path> routesFile = Optional.empty();
    if (config.getRoutes().getFile().isEmpty() && !config.getRoutes().hasControlPlane()) {
      out.add(
          new Problem(
              "routes",
              "set routes.file, routes.control_plane or both (where the routes come from)"));
    } else if (!config.getRoutes().getFile().isEmpty()) {
      routesFile =
          Optional.ofNullable(path(base, config.getRoutes().getFile(), "routes.file", out));
    }
    Path stateDir =
        path(base, orDefault(config.getStateDir(), DEFAULT_STATE_DIR), "state_dir", out);
    EnvoySettings envoy = envoy(config.getEnvoy(), base, stateDir, out);
    ListenAddress adminListen =
        listen(orDefault(config.getAdmin().getListen(), DEFAULT_ADMIN_LISTEN), out);
    if (envoy != null && adminListen != null && adminListen.port() == envoy.adminPort()) {
      out.add(
          new Problem(
              "admin.listen",
              "port " + adminListen.port() + " is also envoy.admin_port; use another"));
    }
    int historyKeep = DEFAULT_HISTORY_KEEP;
    if (config.getHistory().hasKeep()) {
      historyKeep = config.getHistory().getKeep();
      if (historyKeep < 1 || historyKeep > 1000) {
        out.add(
            new Problem(
                "history.keep",
                Integer.toUnsignedString(historyKeep) + " is out of range (1-1000)"));
      }
    }
    var restartConfig = config.getRestart();
    int minInterval =
        restartConfig.hasMinIntervalMs()
            ? restartConfig.getMinIntervalMs()
            : DEFAULT_RESTART_MIN_INTERVAL_MS;
    if (minInterval < 0 || minInterval > 3_600_000) {
      out.add(
          new Problem(
              "restart.min_interval_ms",
              Integer.toUnsignedString(minInterval) + " is out of range (0-3600000)"));
    }
    int debounce =
        restartConfig.hasDebounceMs() ? restartConfig.getDebounceMs() : DEFAULT_RESTART_DEBOUNCE_MS;
    if (debounce < 0 || debounce > 60_000) {
      out.add(
          new Problem(
              "restart.debounce_ms",
              Integer.toUnsignedString(debounce) + " is out of range (0-60000)"));
    }
    if (!node.getAddress().isEmpty()
        && Addresses.kindOf(node.getAddress()).filter(k -> k != Addresses.Kind.DNS).isEmpty()) {
      out.add(
          new Problem(
              "node.address", "\"" + node.getAddress() + "\" must be an IPv4 or IPv6 address"));
    }
    Optional<ControlPlaneSettings> controlPlane =
        config.getRoutes().hasControlPlane()
            ? Optional.ofNullable(controlPlane(config.getRoutes().getControlPlane(), base, out))
            : Optional.empty();
    HeartbeatSettings heartbeat = heartbeat(config.getHeartbeat(), out);
    List<LocalServiceSettings> localServices = localServices(config.getLocalServicesList(), out);
    if (adminListen != null
        && !config.getAdmin().getAllowRemote()
        && !isLoopback(adminListen.host())) {
      // The admin listener tells how this host routes and can drain it: exposing it is a decision.
      out.add(
          new Problem(
              "admin.listen",
              "\""
                  + adminListen
                  + "\" is not a loopback address; set "
                  + "admin.allow_remote: true to expose the agent's admin endpoint"));
    }
    AgentSettings.LogFormat logFormat =
        switch (config.getLogging().getFormat()) {
          case "", "text" -> AgentSettings.LogFormat.TEXT;
          case "json" -> AgentSettings.LogFormat.JSON;
          default -> {
            out.add(
                new Problem(
                    "logging.format",
                    "\"" + config.getLogging().getFormat() + "\" is not one of text, json"));
            yield null;
          }
        };
    Optional<ListenAddress> statsd =
        config.getMetrics().getStatsd().isEmpty()
            ? Optional.empty()
            : Optional.ofNullable(
                hostPort(config.getMetrics().getStatsd(), "metrics.statsd", "127.0.0.1:8125", out));
    int statsdInterval =
        config.getMetrics().hasStatsdIntervalMs()
            ? config.getMetrics().getStatsdIntervalMs()
            : 10_000;
    if (statsdInterval < 1000 || statsdInterval > 600_000) {
      out.add(
          new Problem(
              "metrics.statsd_interval_ms",
              Integer.toUnsignedString(statsdInterval) + " is out of range (1000-600000)"));
    }
    // Off unless asked for: probing 169.254.169.254 from a laptop or a CI runner is traffic nobody
    // wanted.
    AgentSettings.Ec2Use ec2 =
        switch (config.getEc2()) {
          case "", "off" -> AgentSettings.Ec2Use.OFF;
          case "auto" -> AgentSettings.Ec2Use.AUTO;
          case "on" -> AgentSettings.Ec2Use.ON;
          default -> {
            out.add(new Problem("ec2", "\"" + config.getEc2() + "\" is not one of auto, on, off"));
            yield null;
          }
        };
    if (!out.isEmpty()) {
      return null;
    }
    return new AgentSettings(
        new NodeSettings(node.getId(), node.getCluster(), node.getZone(), node.getAddress()),
        routesFile,
        envoy,
        stateDir,
        adminListen,
        historyKeep,
        new AgentSettings.RestartSettings(minInterval, debounce),
        controlPlane,
        heartbeat,
        localServices,
        logFormat,
        statsd,
        statsdInterval,
        ec2);
  }

  private static EnvoySettings envoy(
      EnvoyConfig envoy, Path base, Path stateDir, List<Problem> out) {
    Path binary =
        path(base, orDefault(envoy.getBinary(), DEFAULT_ENVOY_BINARY), "envoy.binary", out);
    Path configDir =
        envoy.getConfigDir().isEmpty()
            ? (stateDir == null ? null : stateDir.resolve("envoy"))
            : path(base, envoy.getConfigDir(), "envoy.config_dir", out);
    int adminPort = envoy.hasAdminPort() ? envoy.getAdminPort() : DEFAULT_ADMIN_PORT;
    if (adminPort < 1 || adminPort > 65535) {
      out.add(
          new Problem(
              "envoy.admin_port",
              Integer.toUnsignedString(adminPort) + " is out of range (1-65535)"));
    }
    int baseId = envoy.hasBaseId() ? envoy.getBaseId() : 0;
    if (baseId < 0 || baseId > 1_000_000) {
      out.add(
          new Problem(
              "envoy.base_id", Integer.toUnsignedString(baseId) + " is out of range (0-1000000)"));
    }
    int drain = envoy.hasDrainTimeS() ? envoy.getDrainTimeS() : DEFAULT_DRAIN_TIME_S;
    int parentShutdown =
        envoy.hasParentShutdownTimeS()
            ? envoy.getParentShutdownTimeS()
            : DEFAULT_PARENT_SHUTDOWN_TIME_S;
    boolean drainOk = drain >= 1 && drain <= 3600;
    if (!drainOk) {
      out.add(
          new Problem(
              "envoy.drain_time_s", Integer.toUnsignedString(drain) + " is out of range (1-3600)"));
    }
    if (parentShutdown < 1 || parentShutdown > 7200) {
      out.add(
          new Problem(
              "envoy.parent_shutdown_time_s",
              Integer.toUnsignedString(parentShutdown) + " is out of range (1-7200)"));
    } else if (drainOk && parentShutdown <= drain) {
      // The parent must finish draining before it is told to exit, or connections are cut.
      out.add(
          new Problem(
              "envoy.parent_shutdown_time_s",
              parentShutdown + " must be greater than envoy.drain_time_s " + drain));
    }
    String deliveryName = orDefault(envoy.getDelivery(), Delivery.FILES.configName());
    Delivery delivery = Delivery.fromConfigName(deliveryName).orElse(null);
    if (delivery == null) {
      out.add(
          new Problem("envoy.delivery", "\"" + deliveryName + "\" is not one of files, restart"));
    }
    int concurrency = envoy.hasConcurrency() ? envoy.getConcurrency() : DEFAULT_CONCURRENCY;
    if (concurrency < 1 || concurrency > 256) {
      out.add(
          new Problem(
              "envoy.concurrency",
              Integer.toUnsignedString(concurrency) + " is out of range (1-256)"));
    }
    int readyTimeout =
        envoy.hasReadyTimeoutS() ? envoy.getReadyTimeoutS() : DEFAULT_READY_TIMEOUT_S;
    if (readyTimeout < 1 || readyTimeout > 3600) {
      out.add(
          new Problem(
              "envoy.ready_timeout_s",
              Integer.toUnsignedString(readyTimeout) + " is out of range (1-3600)"));
    }
    // Stopping waits for the drain, then gives Envoy this long to exit before SIGKILL.
    int stopTimeout = envoy.hasStopTimeoutS() ? envoy.getStopTimeoutS() : 10;
    if (stopTimeout < 1 || stopTimeout > 600) {
      out.add(
          new Problem(
              "envoy.stop_timeout_s",
              Integer.toUnsignedString(stopTimeout) + " is out of range (1-600)"));
    }
    return new EnvoySettings(
        binary,
        configDir,
        adminPort,
        baseId,
        drain,
        parentShutdown,
        delivery,
        concurrency,
        readyTimeout,
        stopTimeout);
  }

  private static ControlPlaneSettings controlPlane(
      ControlPlaneConfig config, Path base, List<Problem> out) {
    String p = "routes.control_plane";
    int before = out.size();
    if (config.getAddressesCount() == 0) {
      out.add(new Problem(p + ".addresses", "must list at least one host:port"));
    }
    List<ListenAddress> addresses = new ArrayList<>();
    for (int i = 0; i < config.getAddressesCount(); i++) {
      ListenAddress address =
          hostPort(
              config.getAddresses(i),
              p + ".addresses[" + i + "]",
              "cp.example.internal:18000",
              out);
      if (address != null) {
        addresses.add(address);
      }
    }
    Optional<TlsFiles> tls = Optional.empty();
    if (config.hasTls()) {
      if (config.getPlaintext()) {
        out.add(new Problem(p + ".plaintext", "cannot be true together with tls"));
      }
      var t = config.getTls();
      if (t.getCaFile().isEmpty()) {
        out.add(
            new Problem(
                p + ".tls.ca_file",
                "must be set (the CA that signed the control plane's certificate)"));
      }
      if (t.getCertFile().isEmpty() != t.getKeyFile().isEmpty()) {
        out.add(
            new Problem(
                p + ".tls",
                "cert_file and key_file go together (both for mutual TLS, or neither)"));
      }
      Path ca = t.getCaFile().isEmpty() ? null : path(base, t.getCaFile(), p + ".tls.ca_file", out);
      Optional<Path> cert =
          t.getCertFile().isEmpty()
              ? Optional.empty()
              : Optional.ofNullable(path(base, t.getCertFile(), p + ".tls.cert_file", out));
      Optional<Path> key =
          t.getKeyFile().isEmpty()
              ? Optional.empty()
              : Optional.ofNullable(path(base, t.getKeyFile(), p + ".tls.key_file", out));
      if (ca != null) {
        tls = Optional.of(new TlsFiles(ca, cert, key));
      }
    } else if (!config.getPlaintext()) {
      // Routes decide where every request of the host goes: never take them unauthenticated by
      // accident.
      out.add(new Problem(p + ".tls", "must be set, or plaintext: true given explicitly"));
    }
    int splay = config.hasSplayMs() ? config.getSplayMs() : DEFAULT_SPLAY_MS;
    if (splay < 0 || splay > 600_000) {
      out.add(
          new Problem(
              p + ".splay_ms", Integer.toUnsignedString(splay) + " is out of range (0-600000)"));
    }
    int connectTimeout =
        config.hasConnectTimeoutMs() ? config.getConnectTimeoutMs() : DEFAULT_CONNECT_TIMEOUT_MS;
    if (connectTimeout < 100 || connectTimeout > 60_000) {
      out.add(
          new Problem(
              p + ".connect_timeout_ms",
              Integer.toUnsignedString(connectTimeout) + " is out of range (100-60000)"));
    }
    return out.size() > before
        ? null
        : new ControlPlaneSettings(addresses, tls, splay, connectTimeout);
  }

  private static HeartbeatSettings heartbeat(HeartbeatConfig config, List<Problem> out) {
    int interval = config.hasIntervalMs() ? config.getIntervalMs() : DEFAULT_HEARTBEAT_INTERVAL_MS;
    int timeout = config.hasTimeoutMs() ? config.getTimeoutMs() : DEFAULT_HEARTBEAT_TIMEOUT_MS;
    boolean intervalOk = interval >= 200 && interval <= 600_000;
    if (!intervalOk) {
      out.add(
          new Problem(
              "heartbeat.interval_ms",
              Integer.toUnsignedString(interval) + " is out of range (200-600000)"));
    }
    if (timeout < 50 || timeout > 60_000) {
      out.add(
          new Problem(
              "heartbeat.timeout_ms",
              Integer.toUnsignedString(timeout) + " is out of range (50-60000)"));
    } else if (intervalOk && timeout >= interval) {
      out.add(
          new Problem(
              "heartbeat.timeout_ms",
              timeout + " must be less than heartbeat.interval_ms " + interval));
    }
    return new HeartbeatSettings(interval, timeout);
  }

  private static List<LocalServiceSettings> localServices(
      List<LocalServiceConfig> configs, List<Problem> out) {
    List<LocalServiceSettings> services = new ArrayList<>();
    java.util.Map<String, Integer> seen = new java.util.HashMap<>();
    for (int i = 0; i < configs.size(); i++) {
      LocalServiceConfig c = configs.get(i);
      String p = "local_services[" + i + "]";
      int before = out.size();
      if (!SERVICE_NAME.matcher(c.getName()).matches()) {
        out.add(
            new Problem(
                p + ".name",
                c.getName().isEmpty()
                    ? "must be set (the routes service it serves)"
                    : "\""
                        + c.getName()
                        + "\" must be a service name (lowercase letters, digits, '.', '_', '-')"));
      } else {
        Integer same = seen.putIfAbsent(c.getName(), i);
        if (same != null) {
          out.add(
              new Problem(
                  p + ".name",
                  "\"" + c.getName() + "\" is already listed as local_services[" + same + "]"));
        }
      }
      if (c.getPort() < 1 || c.getPort() > 65535) {
        out.add(
            new Problem(
                p + ".port",
                c.getPort() == 0
                    ? "must be set (1-65535)"
                    : Integer.toUnsignedString(c.getPort()) + " is out of range (1-65535)"));
      }
      var check = c.getCheck();
      boolean http = !check.getHttpPath().isEmpty();
      if (http == check.getTcp()) {
        out.add(new Problem(p + ".check", "set exactly one of http_path or tcp: true"));
      } else if (http && !check.getHttpPath().startsWith("/")) {
        out.add(
            new Problem(
                p + ".check.http_path", "\"" + check.getHttpPath() + "\" must start with '/'"));
      }
      int interval = c.hasIntervalMs() ? c.getIntervalMs() : DEFAULT_CHECK_INTERVAL_MS;
      int timeout = c.hasTimeoutMs() ? c.getTimeoutMs() : DEFAULT_CHECK_TIMEOUT_MS;
      int rise = c.hasRise() ? c.getRise() : DEFAULT_RISE;
      int fall = c.hasFall() ? c.getFall() : DEFAULT_FALL;
      if (interval < 100 || interval > 600_000) {
        out.add(
            new Problem(
                p + ".interval_ms",
                Integer.toUnsignedString(interval) + " is out of range (100-600000)"));
      }
      if (timeout < 10 || timeout > 60_000) {
        out.add(
            new Problem(
                p + ".timeout_ms",
                Integer.toUnsignedString(timeout) + " is out of range (10-60000)"));
      } else if (timeout > interval) {
        out.add(
            new Problem(p + ".timeout_ms", timeout + " is longer than interval_ms " + interval));
      }
      if (rise < 1 || rise > 100) {
        out.add(
            new Problem(p + ".rise", Integer.toUnsignedString(rise) + " is out of range (1-100)"));
      }
      if (fall < 1 || fall > 100) {
        out.add(
            new Problem(p + ".fall", Integer.toUnsignedString(fall) + " is out of range (1-100)"));
      }
      if (out.size() == before) {
        services.add(
            new LocalServiceSettings(
                c.getName(), c.getPort(), check.getHttpPath(), interval, timeout, rise, fall));
      }
    }
    return services;
  }

  private static boolean isLoopback(String host) {
    return host.equals("localhost") || host.equals("::1") || host.startsWith("127.");
  }

  private static ListenAddress listen(String value, List<Problem> out) {
    return hostPort(value, "admin.listen", "127.0.0.1:9902 or [::1]:9902", out);
  }

  private static ListenAddress hostPort(
      String value, String field, String example, List<Problem> out) {
    var matcher = LISTEN.matcher(value);
    if (!matcher.matches()) {
      out.add(new Problem(field, "\"" + value + "\" must be host:port, e.g. " + example));
      return null;
    }
    int port = Integer.parseInt(matcher.group(3));
    if (port < 1 || port > 65535) {
      out.add(new Problem(field, "port " + port + " is out of range (1-65535)"));
      return null;
    }
    String host = matcher.group(1) != null ? matcher.group(1) : matcher.group(2);
    return new ListenAddress(host, port);
  }

  private static Path path(Path base, String value, String field, List<Problem> out) {
    try {
      return base.resolve(value).normalize();
    } catch (InvalidPathException e) {
      out.add(new Problem(field, "\"" + value + "\" is not a valid path: " + e.getReason()));
      return null;
    }
  }

  private static String orDefault(String value, String fallback) {
    return value.isEmpty() ? fallback : value;
  }
}
