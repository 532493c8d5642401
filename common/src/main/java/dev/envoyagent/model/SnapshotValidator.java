package dev.envoyagent.model;

import dev.envoyagent.api.v1.Endpoint;
import dev.envoyagent.api.v1.HealthCheck;
import dev.envoyagent.api.v1.HttpRoute;
import dev.envoyagent.api.v1.Protocol;
import dev.envoyagent.api.v1.RetryPolicy;
import dev.envoyagent.api.v1.RouteMatch;
import dev.envoyagent.api.v1.RouteSnapshot;
import dev.envoyagent.api.v1.RouteTarget;
import dev.envoyagent.api.v1.Service;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

/**
 * The rules a route snapshot must meet before anything is rendered from it. Pure: the same snapshot
 * always gives the same problems, in document order, all of them at once.
 */
public final class SnapshotValidator {

  public static final int MAX_NAME_LENGTH = 63;
  public static final int MIN_LOCAL_PORT = 1024;
  public static final int MAX_WEIGHT = 10_000;
  public static final long MAX_TIMEOUT_MS = 3_600_000;
  public static final int MAX_RETRY_ATTEMPTS = 10;

  /** Retry conditions Envoy knows, for HTTP and gRPC routes. */
  public static final Set<String> RETRY_CONDITIONS =
      Set.of(
          "5xx",
          "gateway-error",
          "reset",
          "reset-before-request",
          "connect-failure",
          "envoy-ratelimited",
          "retriable-4xx",
          "refused-stream",
          "retriable-status-codes",
          "retriable-headers",
          "http3-post-connect-failure",
          "cancelled",
          "deadline-exceeded",
          "internal",
          "resource-exhausted",
          "unavailable");

  private static final Pattern NAME = Pattern.compile("[a-z0-9][a-z0-9._-]*");
  private static final Pattern ZONE = Pattern.compile("[a-z0-9][a-z0-9-]{0,63}");
  private static final Pattern HEADER_NAME =
      Pattern.compile("[a-z0-9!#$%&'*+.^_`|~-]+|:authority|:method|:path|:scheme");
  private static final Pattern VERSION = Pattern.compile("[\\x21-\\x7e]{1,128}");
  // Java regex constructs RE2 (Envoy's engine) refuses: look-around and back-references.
  private static final Pattern NOT_RE2 = Pattern.compile("\\(\\?<?[=!]|\\\\[1-9]|\\\\k<");

  private SnapshotValidator() {}

  public static List<Problem> validate(RouteSnapshot snapshot) {
    List<Problem> out = new ArrayList<>();
    if (snapshot.getVersion().isEmpty()) {
      out.add(new Problem("version", "must not be empty"));
    } else if (!VERSION.matcher(snapshot.getVersion()).matches()) {
      out.add(new Problem("version", "must be 1-128 printable characters without spaces"));
    }
    Map<String, Integer> serviceIndexByName = new HashMap<>();
    Map<Integer, Integer> serviceIndexByPort = new HashMap<>();
    for (int i = 0; i < snapshot.getServicesCount(); i++) {
      Service service = snapshot.getServices(i);
      String path = "services[" + i + "]";
      Integer sameName = serviceIndexByName.putIfAbsent(service.getName(), i);
      if (sameName != null && !service.getName().isEmpty()) {
        out.add(
            new Problem(
                path + ".name",
                "\"" + service.getName() + "\" is already used by services[" + sameName + "]"));
      }
      Integer samePort = serviceIndexByPort.putIfAbsent(service.getLocalPort(), i);
      if (samePort != null && service.getLocalPort() != 0) {
        out.add(
            new Problem(
                path + ".local_port",
                service.getLocalPort() + " is already used by services[" + samePort + "]"));
      }
    }
    for (int i = 0; i < snapshot.getServicesCount(); i++) {
      validateService(
          snapshot.getServices(i), "services[" + i + "]", snapshot, serviceIndexByName, out);
    }
    return out;
  }

  private static void validateService(
      Service service,
      String path,
      RouteSnapshot snapshot,
      Map<String, Integer> byName,
      List<Problem> out) {
    String name = service.getName();
    if (name.isEmpty()) {
      out.add(new Problem(path + ".name", "must not be empty"));
    } else if (name.length() > MAX_NAME_LENGTH) {
      out.add(
          new Problem(
              path + ".name",
              "\"" + name + "\" is longer than " + MAX_NAME_LENGTH + " characters"));
    } else if (!NAME.matcher(name).matches()) {
      out.add(
          new Problem(
              path + ".name",
              "\""
                  + name
                  + "\" may hold only lowercase letters, digits, '.', '_' and '-', and must start with a letter or digit"));
    }
    if (service.getProtocol() == Protocol.PROTOCOL_UNSPECIFIED) {
      out.add(new Problem(path + ".protocol", "must be set (HTTP, HTTP2, GRPC, TCP or THRIFT)"));
    }
    int port = service.getLocalPort();
    if (port < MIN_LOCAL_PORT || port > 65535) {
      out.add(
          new Problem(
              path + ".local_port",
              (port == 0 ? "must be set" : Integer.toUnsignedString(port) + " is out of range")
                  + " ("
                  + MIN_LOCAL_PORT
                  + "-65535)"));
    }
    validateEndpoints(service, path, out);
    if (service.getRoutesCount() > 0
        && !isHttpFamily(service.getProtocol())
        && service.getProtocol() != Protocol.PROTOCOL_UNSPECIFIED) {
      out.add(
          new Problem(
              path + ".routes",
              "only HTTP, HTTP2 and GRPC services can have routes, this one is "
                  + service.getProtocol()));
    }
    for (int r = 0; r < service.getRoutesCount(); r++) {
      validateRoute(service.getRoutes(r), path + ".routes[" + r + "]", snapshot, byName, out);
    }
    if (service.hasConnectTimeoutMs()) {
      range(out, path + ".connect_timeout_ms", service.getConnectTimeoutMs(), 1, 600_000);
    }
    if (service.hasCircuitBreakers()) {
      var cb = service.getCircuitBreakers();
      String p = path + ".circuit_breakers";
      if (cb.hasMaxConnections()) {
        range(out, p + ".max_connections", cb.getMaxConnections(), 1, 1_000_000);
      }
      if (cb.hasMaxPendingRequests()) {
        range(out, p + ".max_pending_requests", cb.getMaxPendingRequests(), 1, 1_000_000);
      }
      if (cb.hasMaxRequests()) {
        range(out, p + ".max_requests", cb.getMaxRequests(), 1, 1_000_000);
      }
      if (cb.hasMaxRetries()) {
        range(out, p + ".max_retries", cb.getMaxRetries(), 0, 1_000_000);
      }
    }
    if (service.hasOutlierDetection()) {
      var od = service.getOutlierDetection();
      String p = path + ".outlier_detection";
      if (od.hasConsecutive5Xx()) {
        range(out, p + ".consecutive_5xx", od.getConsecutive5Xx(), 1, 1000);
      }
      if (od.hasIntervalMs()) {
        range(out, p + ".interval_ms", od.getIntervalMs(), 100, MAX_TIMEOUT_MS);
      }
      if (od.hasBaseEjectionTimeMs()) {
        range(out, p + ".base_ejection_time_ms", od.getBaseEjectionTimeMs(), 100, MAX_TIMEOUT_MS);
      }
      if (od.hasMaxEjectionPercent()) {
        range(out, p + ".max_ejection_percent", od.getMaxEjectionPercent(), 0, 100);
      }
    }
    if (service.hasHealthCheck()) {
      validateHealthCheck(
          service.getHealthCheck(), service.getProtocol(), path + ".health_check", out);
    }
  }

  private static void validateEndpoints(Service service, String path, List<Problem> out) {
    Map<String, Integer> seen = new HashMap<>();
    for (int e = 0; e < service.getEndpointsCount(); e++) {
      Endpoint endpoint = service.getEndpoints(e);
      String p = path + ".endpoints[" + e + "]";
      Addresses.whyInvalid(endpoint.getAddress())
          .ifPresent(why -> out.add(new Problem(p + ".address", why)));
      if (endpoint.getPort() == 0) {
        out.add(new Problem(p + ".port", "must be set (1-65535)"));
      } else {
        range(out, p + ".port", endpoint.getPort(), 1, 65535);
      }
      if (endpoint.hasWeight()) {
        range(out, p + ".weight", endpoint.getWeight(), 1, MAX_WEIGHT);
      }
      if (!endpoint.getZone().isEmpty() && !ZONE.matcher(endpoint.getZone()).matches()) {
        out.add(
            new Problem(
                p + ".zone",
                "\""
                    + endpoint.getZone()
                    + "\" must be lowercase letters, digits and '-' (e.g. us-east-1a)"));
      }
      String key = endpoint.getAddress() + "|" + Integer.toUnsignedString(endpoint.getPort());
      Integer same = seen.putIfAbsent(key, e);
      if (same != null) {
        out.add(
            new Problem(
                p,
                endpoint.getAddress()
                    + ":"
                    + Integer.toUnsignedString(endpoint.getPort())
                    + " is already listed as endpoints["
                    + same
                    + "]"));
      }
    }
  }

  private static void validateRoute(
      HttpRoute route,
      String path,
      RouteSnapshot snapshot,
      Map<String, Integer> byName,
      List<Problem> out) {
    if (!route.hasMatch()) {
      out.add(new Problem(path + ".match", "must be set (prefix, path or regex)"));
    } else {
      validateMatch(route.getMatch(), path + ".match", out);
    }
    if (route.getTargetsCount() == 0) {
      out.add(new Problem(path + ".targets", "must name at least one service"));
    }
    long totalWeight = 0;
    Set<String> targetNames = new HashSet<>();
    for (int t = 0; t < route.getTargetsCount(); t++) {
      RouteTarget target = route.getTargets(t);
      String p = path + ".targets[" + t + "]";
      Integer index = byName.get(target.getService());
      if (target.getService().isEmpty()) {
        out.add(new Problem(p + ".service", "must not be empty"));
      } else if (index == null) {
        out.add(new Problem(p + ".service", "no service named \"" + target.getService() + "\""));
      } else {
        Protocol targetProtocol = snapshot.getServices(index).getProtocol();
        if (!isHttpFamily(targetProtocol) && targetProtocol != Protocol.PROTOCOL_UNSPECIFIED) {
          out.add(
              new Problem(
                  p + ".service",
                  "\""
                      + target.getService()
                      + "\" is a "
                      + targetProtocol
                      + " service; HTTP routes can only send to HTTP, HTTP2 or GRPC services"));
        }
      }
      if (!target.getService().isEmpty() && !targetNames.add(target.getService())) {
        out.add(
            new Problem(
                p + ".service", "\"" + target.getService() + "\" is named twice in this route"));
      }
      long weight = target.hasWeight() ? Integer.toUnsignedLong(target.getWeight()) : 1;
      if (weight > MAX_WEIGHT) {
        out.add(new Problem(p + ".weight", weight + " is out of range (0-" + MAX_WEIGHT + ")"));
      }
      totalWeight += weight;
    }
    if (route.getTargetsCount() > 0 && totalWeight == 0) {
      out.add(
          new Problem(
              path + ".targets",
              "weights add up to 0; at least one target needs a weight above 0"));
    }
    if (route.hasTimeoutMs()) {
      range(out, path + ".timeout_ms", route.getTimeoutMs(), 1, MAX_TIMEOUT_MS);
    }
    if (route.hasRetries()) {
      validateRetries(route.getRetries(), path + ".retries", out);
    }
  }

  private static void validateMatch(RouteMatch match, String path, List<Problem> out) {
    switch (match.getPathSpecifierCase()) {
      case PREFIX -> {
        if (!match.getPrefix().startsWith("/")) {
          out.add(
              new Problem(path + ".prefix", "\"" + match.getPrefix() + "\" must start with '/'"));
        }
      }
      case PATH -> {
        if (!match.getPath().startsWith("/")) {
          out.add(new Problem(path + ".path", "\"" + match.getPath() + "\" must start with '/'"));
        }
      }
      case REGEX -> validateRegex(match.getRegex(), path + ".regex", out);
      default -> out.add(new Problem(path, "must set one of prefix, path or regex"));
    }
    Set<String> headerNames = new HashSet<>();
    for (int h = 0; h < match.getHeadersCount(); h++) {
      var header = match.getHeaders(h);
      String p = path + ".headers[" + h + "]";
      if (header.getName().isEmpty()) {
        out.add(new Problem(p + ".name", "must not be empty"));
      } else if (!HEADER_NAME.matcher(header.getName()).matches()) {
        out.add(
            new Problem(
                p + ".name", "\"" + header.getName() + "\" is not a lowercase HTTP header name"));
      } else if (!headerNames.add(header.getName())) {
        out.add(
            new Problem(
                p + ".name", "\"" + header.getName() + "\" is matched twice in this route"));
      }
    }
  }

  private static void validateRegex(String regex, String path, List<Problem> out) {
    if (regex.isEmpty()) {
      out.add(new Problem(path, "must not be empty"));
      return;
    }
    if (NOT_RE2.matcher(regex).find()) {
      out.add(
          new Problem(
              path,
              "uses look-around or back-references, which Envoy's RE2 engine does not support"));
      return;
    }
    try {
      Pattern.compile(regex);
    } catch (PatternSyntaxException e) {
      out.add(new Problem(path, "is not a valid regular expression: " + e.getDescription()));
    }
  }

  private static void validateRetries(RetryPolicy retries, String path, List<Problem> out) {
    range(out, path + ".attempts", retries.getAttempts(), 0, MAX_RETRY_ATTEMPTS);
    if (retries.getAttempts() > 0 && retries.getOnCount() == 0) {
      out.add(
          new Problem(
              path + ".on",
              "must list at least one condition when attempts is above 0 (e.g. 5xx, reset)"));
    }
    for (int o = 0; o < retries.getOnCount(); o++) {
      String condition = retries.getOn(o);
      if (!RETRY_CONDITIONS.contains(condition)) {
        out.add(
            new Problem(
                path + ".on[" + o + "]",
                "\""
                    + condition
                    + "\" is not a retry condition Envoy knows ("
                    + String.join(", ", RETRY_CONDITIONS.stream().sorted().toList())
                    + ")"));
      }
    }
  }

  private static void validateHealthCheck(
      HealthCheck check, Protocol protocol, String path, List<Problem> out) {
    if (!check.getHttpPath().isEmpty()) {
      if (!check.getHttpPath().startsWith("/")) {
        out.add(
            new Problem(
                path + ".http_path", "\"" + check.getHttpPath() + "\" must start with '/'"));
      }
      if (protocol == Protocol.TCP || protocol == Protocol.THRIFT) {
        out.add(
            new Problem(
                path + ".http_path",
                "an HTTP check needs an HTTP, HTTP2 or GRPC service; leave it out"
                    + " for a TCP connect check"));
      }
    }
    if (check.hasIntervalMs()) {
      range(out, path + ".interval_ms", check.getIntervalMs(), 100, MAX_TIMEOUT_MS);
    }
    if (check.hasTimeoutMs()) {
      range(out, path + ".timeout_ms", check.getTimeoutMs(), 1, MAX_TIMEOUT_MS);
    }
    if (check.hasIntervalMs()
        && check.hasTimeoutMs()
        && Integer.toUnsignedLong(check.getTimeoutMs())
            > Integer.toUnsignedLong(check.getIntervalMs())) {
      out.add(
          new Problem(
              path + ".timeout_ms",
              Integer.toUnsignedString(check.getTimeoutMs())
                  + " is longer than interval_ms "
                  + Integer.toUnsignedString(check.getIntervalMs())));
    }
    if (check.hasHealthyThreshold()) {
      range(out, path + ".healthy_threshold", check.getHealthyThreshold(), 1, 100);
    }
    if (check.hasUnhealthyThreshold()) {
      range(out, path + ".unhealthy_threshold", check.getUnhealthyThreshold(), 1, 100);
    }
  }

  public static boolean isHttpFamily(Protocol protocol) {
    return protocol == Protocol.HTTP || protocol == Protocol.HTTP2 || protocol == Protocol.GRPC;
  }

  /**
   * Records a problem unless {@code rawUnsigned} (a uint32 as protobuf stores it) is within [min,
   * max].
   */
  private static void range(List<Problem> out, String path, int rawUnsigned, long min, long max) {
    long value = Integer.toUnsignedLong(rawUnsigned);
    if (value < min || value > max) {
      out.add(new Problem(path, value + " is out of range (" + min + "-" + max + ")"));
    }
  }
}
