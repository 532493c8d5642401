package dev.envoyagent.render;

import static dev.envoyagent.render.Protos.millis;
import static dev.envoyagent.render.Protos.uint32;

import dev.envoyagent.api.v1.HeaderMatch;
import dev.envoyagent.api.v1.HttpRoute;
import dev.envoyagent.api.v1.Protocol;
import dev.envoyagent.api.v1.RouteTarget;
import dev.envoyagent.api.v1.Service;
import io.envoyproxy.envoy.config.route.v3.HeaderMatcher;
import io.envoyproxy.envoy.config.route.v3.RetryPolicy;
import io.envoyproxy.envoy.config.route.v3.Route;
import io.envoyproxy.envoy.config.route.v3.RouteAction;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.envoyproxy.envoy.config.route.v3.RouteMatch;
import io.envoyproxy.envoy.config.route.v3.VirtualHost;
import io.envoyproxy.envoy.config.route.v3.WeightedCluster;
import io.envoyproxy.envoy.type.matcher.v3.RegexMatcher;
import io.envoyproxy.envoy.type.matcher.v3.StringMatcher;

/** The route table of an HTTP-family service's listener. */
final class RouteRenderer {

  private RouteRenderer() {}

  static String rdsFile(Service service) {
    return RenderedConfig.RDS_DIR + "/" + service.getName() + ".json";
  }

  /**
   * The service's routes in snapshot order, then a catch-all to the service itself (unless a route
   * already catches everything), so that adding a route never makes other paths fail.
   */
  static RouteConfiguration routeConfiguration(Service service) {
    VirtualHost.Builder host = VirtualHost.newBuilder().setName(service.getName()).addDomains("*");
    boolean catchAll = false;
    for (HttpRoute route : service.getRoutesList()) {
      host.addRoutes(route(route, service.getProtocol()));
      catchAll |=
          route.getMatch().getPrefix().equals("/") && route.getMatch().getHeadersCount() == 0;
    }
    if (!catchAll) {
      RouteAction.Builder toSelf = RouteAction.newBuilder().setCluster(service.getName());
      if (service.getProtocol() == Protocol.GRPC) {
        toSelf.setTimeout(
            millis(0)); // gRPC streams may live long; Envoy's 15 s default would cut them
      }
      host.addRoutes(
          Route.newBuilder().setMatch(RouteMatch.newBuilder().setPrefix("/")).setRoute(toSelf));
    }
    return RouteConfiguration.newBuilder().setName(service.getName()).addVirtualHosts(host).build();
  }

  private static Route route(HttpRoute route, Protocol protocol) {
    RouteMatch.Builder match = RouteMatch.newBuilder();
    var source = route.getMatch();
    switch (source.getPathSpecifierCase()) {
      case PREFIX -> match.setPrefix(source.getPrefix());
      case PATH -> match.setPath(source.getPath());
      case REGEX -> match.setSafeRegex(RegexMatcher.newBuilder().setRegex(source.getRegex()));
      default ->
          throw new IllegalArgumentException(
              "route without a path match: validate snapshots first");
    }
    for (HeaderMatch header : source.getHeadersList()) {
      match.addHeaders(
          HeaderMatcher.newBuilder()
              .setName(header.getName())
              .setStringMatch(StringMatcher.newBuilder().setExact(header.getExact())));
    }
    RouteAction.Builder action = RouteAction.newBuilder();
    if (route.getTargetsCount() == 1) {
      action.setCluster(route.getTargets(0).getService());
    } else {
      WeightedCluster.Builder weighted = WeightedCluster.newBuilder();
      for (RouteTarget target : route.getTargetsList()) {
        weighted.addClusters(
            WeightedCluster.ClusterWeight.newBuilder()
                .setName(target.getService())
                .setWeight(uint32(target.hasWeight() ? target.getWeight() : 1)));
      }
      action.setWeightedClusters(weighted);
    }
    if (route.hasTimeoutMs()) {
      action.setTimeout(millis(Integer.toUnsignedLong(route.getTimeoutMs())));
    } else if (protocol == Protocol.GRPC) {
      action.setTimeout(millis(0));
    }
    if (route.hasRetries() && route.getRetries().getAttempts() > 0) {
      action.setRetryPolicy(
          RetryPolicy.newBuilder()
              .setRetryOn(String.join(",", route.getRetries().getOnList()))
              .setNumRetries(uint32(route.getRetries().getAttempts())));
    }
    return Route.newBuilder().setMatch(match).setRoute(action).build();
  }
}
