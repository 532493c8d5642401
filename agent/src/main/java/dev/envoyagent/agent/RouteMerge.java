package dev.envoyagent.agent;

import dev.envoyagent.api.v1.RouteSnapshot;
import dev.envoyagent.api.v1.Service;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Joins the control plane's snapshot with the host's static routes file (destinations the control
 * plane does not know, e.g. a database). The control plane wins a clash: a file service with the
 * same name or local port is left out and reported.
 */
record RouteMerge(RouteSnapshot snapshot, List<String> clashes) {

  static RouteMerge of(RouteSnapshot fromControlPlane, RouteSnapshot fromFile) {
    if (fromControlPlane == null) {
      return new RouteMerge(fromFile, List.of());
    }
    if (fromFile == null) {
      return new RouteMerge(fromControlPlane, List.of());
    }
    Map<String, Service> byName = new HashMap<>();
    Map<Integer, Service> byPort = new HashMap<>();
    for (Service service : fromControlPlane.getServicesList()) {
      byName.put(service.getName(), service);
      byPort.put(service.getLocalPort(), service);
    }
    RouteSnapshot.Builder merged =
        fromControlPlane.toBuilder()
            .setVersion(fromControlPlane.getVersion() + "+file." + fromFile.getVersion());
    List<String> clashes = new ArrayList<>();
    for (Service service : fromFile.getServicesList()) {
      if (byName.containsKey(service.getName())) {
        clashes.add(
            "routes file service \""
                + service.getName()
                + "\" has the name of a control-plane service; "
                + "the control plane's is used");
      } else if (byPort.containsKey(service.getLocalPort())) {
        clashes.add(
            "routes file service \""
                + service.getName()
                + "\" uses local_port "
                + service.getLocalPort()
                + " of control-plane service \""
                + byPort.get(service.getLocalPort()).getName()
                + "\"; it is left out");
      } else {
        merged.addServices(service);
      }
    }
    return new RouteMerge(merged.build(), clashes);
  }
}
