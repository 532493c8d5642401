package dev.envoyagent.controlplane;

import dev.envoyagent.api.v1.Endpoint;
import dev.envoyagent.api.v1.HostState;
import dev.envoyagent.api.v1.LocalServiceStatus;
import dev.envoyagent.model.Addresses;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.regex.Pattern;

/**
 * The registration rule, as pure functions of host records and the time (Nerve's model: a host
 * registers what its local checks say is healthy). A local service of a host becomes an endpoint of
 * the service with the same name when the host is SERVING, was heard from within {@code
 * staleAfterMs}, has a usable address, and the local check passed. Whether the name exists in the
 * routes is decided by the merge, so a service added to the routes later picks up hosts that
 * already report it.
 */
public final class Registrations {

  /** Heartbeats missed in a row before a host's endpoints are removed. */
  public static final int MISSED_HEARTBEATS = 3;

  // The zone rule of SnapshotValidator: a host reporting anything else registers without a zone.
  private static final Pattern ZONE = Pattern.compile("[a-z0-9][a-z0-9-]{0,63}");
  private static final Comparator<Endpoint> ORDER =
      Comparator.comparing(Endpoint::getAddress).thenComparingInt(Endpoint::getPort);

  private Registrations() {}

  public static long staleAfterMs(long heartbeatIntervalMs) {
    return MISSED_HEARTBEATS * heartbeatIntervalMs;
  }

  /** Why none of this host's services are registered now, or empty when its healthy ones are. */
  public static Optional<String> whyHostNotRegistered(
      HostRecord host, long nowMs, long staleAfterMs) {
    if (!host.hasHeartbeat()) {
      return Optional.of("no heartbeat yet");
    }
    long silentMs = nowMs - host.heartbeatAtMs();
    if (silentMs > staleAfterMs) {
      return Optional.of("no heartbeat for " + silentMs + " ms");
    }
    HostState state = host.heartbeat().getState();
    if (state != HostState.SERVING) {
      return Optional.of("host is " + state);
    }
    String address = host.address();
    if (address.isEmpty()) {
      return Optional.of("host has no address (node.address or identity.private_ipv4)");
    }
    return Addresses.whyInvalid(address).map(why -> "host address " + why);
  }

  /**
   * Why this one local service is not registered, assuming the host may register; empty when it is.
   */
  public static Optional<String> whyServiceNotRegistered(LocalServiceStatus service) {
    if (!service.getHealthy()) {
      return Optional.of(
          service.getDetail().isEmpty()
              ? "check failing"
              : "check failing: " + service.getDetail());
    }
    if (service.getPort() == 0 || service.getPort() > 65535) {
      return Optional.of(
          "port " + Integer.toUnsignedString(service.getPort()) + " is out of range (1-65535)");
    }
    return Optional.empty();
  }

  /**
   * The registered endpoints by service name (sorted), each list sorted by address and port with
   * duplicates (two hosts claiming one address) listed once.
   */
  public static Map<String, List<Endpoint>> endpoints(
      Collection<HostRecord> hosts, long nowMs, long staleAfterMs) {
    Map<String, Set<Endpoint>> byService = new TreeMap<>();
    for (HostRecord host : hosts) {
      if (whyHostNotRegistered(host, nowMs, staleAfterMs).isPresent()) {
        continue;
      }
      for (LocalServiceStatus service : host.heartbeat().getLocalServicesList()) {
        if (whyServiceNotRegistered(service).isEmpty()) {
          byService
              .computeIfAbsent(service.getName(), name -> new LinkedHashSet<>())
              .add(endpoint(host, service));
        }
      }
    }
    Map<String, List<Endpoint>> out = new TreeMap<>();
    byService.forEach(
        (name, endpoints) -> {
          List<Endpoint> sorted = new ArrayList<>(endpoints);
          sorted.sort(ORDER);
          out.put(name, List.copyOf(sorted));
        });
    return out;
  }

  private static Endpoint endpoint(HostRecord host, LocalServiceStatus service) {
    Endpoint.Builder endpoint =
        Endpoint.newBuilder().setAddress(host.address()).setPort(service.getPort());
    String zone = host.node().getZone();
    if (ZONE.matcher(zone).matches()) {
      endpoint.setZone(zone);
    }
    return endpoint.build();
  }
}
