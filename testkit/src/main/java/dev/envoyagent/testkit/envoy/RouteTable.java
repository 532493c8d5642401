package dev.envoyagent.testkit.envoy;

import io.envoyproxy.envoy.config.route.v3.HeaderMatcher;
import io.envoyproxy.envoy.config.route.v3.Route;
import io.envoyproxy.envoy.config.route.v3.RouteAction;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.envoyproxy.envoy.config.route.v3.RouteMatch;
import io.envoyproxy.envoy.config.route.v3.VirtualHost;
import io.envoyproxy.envoy.config.route.v3.WeightedCluster;
import io.envoyproxy.envoy.type.matcher.v3.StringMatcher;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.function.Function;
import java.util.regex.Pattern;

/** A compiled RouteConfiguration: picks the virtual host, then the first matching route. */
final class RouteTable {
  static final long DEFAULT_TIMEOUT_MS = 15_000;

  /**
   * What to do with a matched request. Exactly one of cluster picker, direct response or redirect
   * is set.
   */
  record RouteEntry(
      String name,
      Function<HeaderView, String> cluster,
      int directStatus,
      String directBody,
      String redirectLocation,
      long timeoutMs,
      long perTryTimeoutMs,
      int numRetries,
      Set<String> retryOn,
      String prefixRewrite,
      String matchedPrefix,
      String hostRewrite) {}

  /** Read access to request headers by lower-case name; multiple values are joined with ",". */
  interface HeaderView {
    String get(String lowerCaseName);
  }

  private record Matcher(RouteMatch match, Pattern regex, List<CompiledHeader> headers) {}

  private record CompiledHeader(HeaderMatcher proto, Pattern regex) {}

  private record CompiledRoute(Matcher matcher, RouteEntry entry) {}

  private record CompiledHost(String name, List<String> domains, List<CompiledRoute> routes) {}

  private final String name;
  private final List<CompiledHost> hosts;
  private final Set<String> clusters;

  private RouteTable(String name, List<CompiledHost> hosts, Set<String> clusters) {
    this.name = name;
    this.hosts = hosts;
    this.clusters = clusters;
  }

  String name() {
    return name;
  }

  /** Every cluster a route can send to (for reference checks). */
  Set<String> referencedClusters() {
    return clusters;
  }

  static RouteTable compile(RouteConfiguration config) throws ConfigException {
    List<CompiledHost> hosts = new ArrayList<>();
    Set<String> clusters = new LinkedHashSet<>();
    Set<String> allDomains = new java.util.HashSet<>();
    for (VirtualHost vh : config.getVirtualHostsList()) {
      if (vh.getDomainsCount() == 0) {
        throw new ConfigException(
            "Proto constraint validation failed (VirtualHostValidationError.Domains: "
                + "value must contain at least 1 item(s)): virtual host "
                + vh.getName());
      }
      for (String d : vh.getDomainsList()) {
        if (!allDomains.add(d.toLowerCase(Locale.ROOT))) {
          throw new ConfigException(
              "Only unique values for domains are permitted. Duplicate entry of domain "
                  + d
                  + " in route "
                  + config.getName());
        }
      }
      List<CompiledRoute> routes = new ArrayList<>();
      for (Route r : vh.getRoutesList()) {
        routes.add(new CompiledRoute(matcher(r.getMatch()), entry(r, clusters)));
      }
      hosts.add(new CompiledHost(vh.getName(), vh.getDomainsList(), routes));
    }
    return new RouteTable(config.getName(), List.copyOf(hosts), Set.copyOf(clusters));
  }

  /** The matching route, or null (Envoy answers 404). */
  RouteEntry route(String authority, String path, HeaderView headers) {
    CompiledHost host = virtualHost(authority == null ? "" : authority.toLowerCase(Locale.ROOT));
    if (host == null) {
      return null;
    }
    for (CompiledRoute r : host.routes()) {
      if (matches(r.matcher(), path, headers)) {
        return r.entry();
      }
    }
    return null;
  }

  private CompiledHost virtualHost(String authority) {
    String bare =
        authority.contains(":") && !authority.endsWith("]")
            ? authority.substring(0, authority.lastIndexOf(':'))
            : authority;
    for (String candidate : new String[] {authority, bare}) {
      for (CompiledHost h : hosts) {
        if (h.domains().stream().anyMatch(d -> d.equalsIgnoreCase(candidate))) {
          return h;
        }
      }
    }
    // Longest wildcard wins among suffix ("*.x") and prefix ("x.*") wildcards, then "*".
    CompiledHost best = null;
    int bestLength = -1;
    for (CompiledHost h : hosts) {
      for (String d : h.domains()) {
        String lower = d.toLowerCase(Locale.ROOT);
        boolean hit =
            lower.startsWith("*") && lower.length() > 1 && bare.endsWith(lower.substring(1))
                || lower.endsWith("*")
                    && lower.length() > 1
                    && bare.startsWith(lower.substring(0, lower.length() - 1));
        if (hit && lower.length() > bestLength) {
          best = h;
          bestLength = lower.length();
        }
      }
    }
    if (best != null) {
      return best;
    }
    return hosts.stream().filter(h -> h.domains().contains("*")).findFirst().orElse(null);
  }

  private static boolean matches(Matcher m, String fullPath, HeaderView headers) {
    RouteMatch match = m.match();
    boolean caseSensitive = !match.hasCaseSensitive() || match.getCaseSensitive().getValue();
    int q = fullPath.indexOf('?');
    String path = q >= 0 ? fullPath.substring(0, q) : fullPath;
    boolean pathOk =
        switch (match.getPathSpecifierCase()) {
          case PREFIX ->
              caseSensitive
                  ? fullPath.startsWith(match.getPrefix())
                  : fullPath
                      .toLowerCase(Locale.ROOT)
                      .startsWith(match.getPrefix().toLowerCase(Locale.ROOT));
          case PATH ->
              caseSensitive ? path.equals(match.getPath()) : path.equalsIgnoreCase(match.getPath());
          case SAFE_REGEX -> m.regex().matcher(path).matches();
          case PATH_SEPARATED_PREFIX -> {
            String p = match.getPathSeparatedPrefix();
            yield path.equals(p) || path.startsWith(p + "/");
          }
          default -> false;
        };
    if (!pathOk) {
      return false;
    }
    for (CompiledHeader h : m.headers()) {
      if (!headerMatches(h, headers.get(h.proto().getName().toLowerCase(Locale.ROOT)))) {
        return false;
      }
    }
    return true;
  }

  private static boolean headerMatches(CompiledHeader h, String value) {
    HeaderMatcher p = h.proto();
    boolean result;
    if (p.getHeaderMatchSpecifierCase() == HeaderMatcher.HeaderMatchSpecifierCase.PRESENT_MATCH) {
      result = (value != null) == p.getPresentMatch();
    } else if (value == null) {
      result = p.getTreatMissingHeaderAsEmpty() && specifier(h, "");
    } else {
      result = specifier(h, value);
    }
    return result != p.getInvertMatch();
  }

  // Envoy still honours these deprecated fields, so the simulator reads them too.
  @SuppressWarnings("deprecation")
  private static boolean specifier(CompiledHeader h, String value) {
    HeaderMatcher p = h.proto();
    return switch (p.getHeaderMatchSpecifierCase()) {
      case EXACT_MATCH -> value.equals(p.getExactMatch());
      case PREFIX_MATCH -> value.startsWith(p.getPrefixMatch());
      case SUFFIX_MATCH -> value.endsWith(p.getSuffixMatch());
      case CONTAINS_MATCH -> value.contains(p.getContainsMatch());
      case SAFE_REGEX_MATCH, STRING_MATCH ->
          stringMatch(
              p.getStringMatch(),
              h.regex(),
              value,
              p.getHeaderMatchSpecifierCase()
                  == HeaderMatcher.HeaderMatchSpecifierCase.SAFE_REGEX_MATCH);
      case HEADERMATCHSPECIFIER_NOT_SET -> true; // only presence is required
      default -> false; // range matches are not modelled
    };
  }

  private static boolean stringMatch(
      StringMatcher s, Pattern regex, String value, boolean regexOnly) {
    if (regexOnly) {
      return regex.matcher(value).matches();
    }
    boolean ic = s.getIgnoreCase();
    String v = ic ? value.toLowerCase(Locale.ROOT) : value;
    return switch (s.getMatchPatternCase()) {
      case EXACT -> v.equals(ic ? s.getExact().toLowerCase(Locale.ROOT) : s.getExact());
      case PREFIX -> v.startsWith(ic ? s.getPrefix().toLowerCase(Locale.ROOT) : s.getPrefix());
      case SUFFIX -> v.endsWith(ic ? s.getSuffix().toLowerCase(Locale.ROOT) : s.getSuffix());
      case CONTAINS -> v.contains(ic ? s.getContains().toLowerCase(Locale.ROOT) : s.getContains());
      case SAFE_REGEX -> regex.matcher(value).matches();
      default -> false;
    };
  }

  // Envoy still honours these deprecated fields, so the simulator reads them too.
  @SuppressWarnings("deprecation")
  private static Matcher matcher(RouteMatch match) throws ConfigException {
    if (match.getPathSpecifierCase() == RouteMatch.PathSpecifierCase.PATHSPECIFIER_NOT_SET) {
      throw new ConfigException(
          "Proto constraint validation failed (RouteMatchValidationError.PathSpecifier: "
              + "value is required)");
    }
    if (match.getPathSpecifierCase() == RouteMatch.PathSpecifierCase.PATH_MATCH_POLICY
        || match.getPathSpecifierCase() == RouteMatch.PathSpecifierCase.CONNECT_MATCHER) {
      throw new ConfigException(
          "simulator: route match " + match.getPathSpecifierCase() + " is not supported");
    }
    Pattern regex = match.hasSafeRegex() ? regex(match.getSafeRegex().getRegex()) : null;
    List<CompiledHeader> headers = new ArrayList<>();
    for (HeaderMatcher h : match.getHeadersList()) {
      Pattern hr = null;
      if (h.hasSafeRegexMatch()) {
        hr = regex(h.getSafeRegexMatch().getRegex());
      } else if (h.hasStringMatch() && h.getStringMatch().hasSafeRegex()) {
        hr = regex(h.getStringMatch().getSafeRegex().getRegex());
      }
      headers.add(new CompiledHeader(h, hr));
    }
    return new Matcher(match, regex, List.copyOf(headers));
  }

  // Envoy uses RE2 (CompiledGoogleReMatcher): Java-only syntax and programs over size 100 are
  // refused (Re2).
  private static Pattern regex(String re) throws ConfigException {
    return Re2.compileChecked(re);
  }

  private static RouteEntry entry(Route r, Set<String> clusters) throws ConfigException {
    switch (r.getActionCase()) {
      case DIRECT_RESPONSE -> {
        var d = r.getDirectResponse();
        return new RouteEntry(
            r.getName(),
            null,
            d.getStatus(),
            d.getBody().getInlineString(),
            null,
            0,
            0,
            0,
            Set.of(),
            null,
            null,
            null);
      }
      case REDIRECT -> {
        var d = r.getRedirect();
        String location =
            (d.getSchemeRedirect().isEmpty() ? "http" : d.getSchemeRedirect())
                + "://"
                + d.getHostRedirect()
                + d.getPathRedirect();
        return new RouteEntry(
            r.getName(), null, 301, "", location, 0, 0, 0, Set.of(), null, null, null);
      }
      case ROUTE -> {
        return routeEntry(r, r.getRoute(), clusters);
      }
      default ->
          throw new ConfigException(
              "simulator: route action " + r.getActionCase() + " is not supported");
    }
  }

  private static RouteEntry routeEntry(Route r, RouteAction a, Set<String> clusters)
      throws ConfigException {
    Function<HeaderView, String> picker =
        switch (a.getClusterSpecifierCase()) {
          case CLUSTER -> {
            String c = a.getCluster();
            if (c.isEmpty()) {
              throw new ConfigException(
                  "Proto constraint validation failed (RouteActionValidationError.Cluster: "
                      + "value length must be at least 1 characters)");
            }
            clusters.add(c);
            yield headers -> c;
          }
          case CLUSTER_HEADER -> {
            String header = a.getClusterHeader().toLowerCase(Locale.ROOT);
            yield headers -> headers.get(header);
          }
          case WEIGHTED_CLUSTERS -> weighted(a.getWeightedClusters(), clusters);
          default ->
              throw new ConfigException(
                  "simulator: cluster specifier "
                      + a.getClusterSpecifierCase()
                      + " is not supported");
        };
    long timeout = a.hasTimeout() ? millis(a.getTimeout()) : DEFAULT_TIMEOUT_MS;
    long perTry = 0;
    int retries = 0;
    Set<String> retryOn = Set.of();
    if (a.hasRetryPolicy()) {
      var p = a.getRetryPolicy();
      retries = p.hasNumRetries() ? p.getNumRetries().getValue() : 1;
      retryOn = Set.of(p.getRetryOn().split("\\s*,\\s*"));
      perTry = p.hasPerTryTimeout() ? millis(p.getPerTryTimeout()) : 0;
    }
    String matchedPrefix = r.getMatch().hasPrefix() ? r.getMatch().getPrefix() : null;
    return new RouteEntry(
        r.getName(),
        picker,
        0,
        null,
        null,
        timeout,
        perTry,
        retries,
        retryOn,
        a.getPrefixRewrite().isEmpty() ? null : a.getPrefixRewrite(),
        matchedPrefix,
        a.getHostRewriteLiteral().isEmpty() ? null : a.getHostRewriteLiteral());
  }

  // Envoy picks a weighted cluster at random in proportion; the simulator rotates smoothly in the
  // same proportions so tests are deterministic.
  private static Function<HeaderView, String> weighted(WeightedCluster wc, Set<String> clusters)
      throws ConfigException {
    List<String> names = new ArrayList<>();
    List<Integer> weights = new ArrayList<>();
    for (WeightedCluster.ClusterWeight cw : wc.getClustersList()) {
      if (cw.getName().isEmpty()) {
        throw new ConfigException(
            "simulator: weighted cluster entry without a name is not supported");
      }
      names.add(cw.getName());
      weights.add(cw.hasWeight() ? cw.getWeight().getValue() : 0);
      clusters.add(cw.getName());
    }
    if (names.isEmpty()) {
      throw new ConfigException(
          "Proto constraint validation failed (WeightedClusterValidationError.Clusters: "
              + "value must contain at least 1 item(s))");
    }
    SmoothWeightedRoundRobin<String> wrr = new SmoothWeightedRoundRobin<>(names, weights);
    if (wrr.isEmpty()) {
      throw new ConfigException("Sum of weights in the weighted_cluster must be greater than 0.");
    }
    return headers -> wrr.next();
  }

  static long millis(com.google.protobuf.Duration d) {
    return d.getSeconds() * 1000 + d.getNanos() / 1_000_000;
  }
}
