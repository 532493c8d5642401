package dev.envoyagent.controlplane;

import dev.envoyagent.api.v1.Endpoint;
import dev.envoyagent.api.v1.RouteSnapshot;
import dev.envoyagent.model.InvalidInputException;
import dev.envoyagent.model.Problem;
import dev.envoyagent.model.SnapshotValidator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The snapshot being served: the routes (base) merged with the registered endpoints. Only a merged
 * snapshot that validates is ever served; otherwise the previous one stays. Listeners hear about
 * every new version, on the thread that caused it and while the store is locked, so they must only
 * hand the work on (see {@link RouteDiscoveryService}).
 */
public final class SnapshotStore {

  private static final Logger LOG = LoggerFactory.getLogger(SnapshotStore.class);

  private final List<Consumer<RouteSnapshot>> listeners = new CopyOnWriteArrayList<>();
  private RouteSnapshot base;
  private Map<String, List<Endpoint>> registered = Map.of();
  private volatile RouteSnapshot current;

  /** Refuses a base that does not validate, with every problem. */
  public SnapshotStore(RouteSnapshot base) throws InvalidInputException {
    this.base = checked(base);
    this.current = SnapshotMerge.merge(base, registered);
    List<Problem> problems = SnapshotValidator.validate(current);
    if (!problems.isEmpty()) {
      throw new InvalidInputException("merged snapshot " + current.getVersion(), problems);
    }
  }

  /** The snapshot served now; never null. */
  public RouteSnapshot current() {
    return current;
  }

  public synchronized RouteSnapshot base() {
    return base;
  }

  public void addListener(Consumer<RouteSnapshot> listener) {
    listeners.add(listener);
  }

  /** New routes; a base that does not validate is refused and the previous one keeps serving. */
  public synchronized void replaceBase(RouteSnapshot newBase) throws InvalidInputException {
    base = checked(newBase);
    remerge("routes");
  }

  /** The endpoints hosts register now, by service name (see {@link Registrations#endpoints}). */
  public synchronized void replaceRegistrations(Map<String, List<Endpoint>> endpoints) {
    if (endpoints.equals(registered)) {
      return;
    }
    registered = Map.copyOf(endpoints);
    remerge("registrations");
  }

  private void remerge(String cause) {
    RouteSnapshot candidate = SnapshotMerge.merge(base, registered);
    if (candidate.getVersion().equals(current.getVersion())) {
      return;
    }
    List<Problem> problems = SnapshotValidator.validate(candidate);
    if (!problems.isEmpty()) {
      // Registrations are checked one by one before they get here; this is a safety net.
      LOG.warn(
          "merged snapshot refused version={} cause={} problems={}; still serving version={}",
          candidate.getVersion(),
          cause,
          problems.size(),
          current.getVersion());
      problems.forEach(
          p ->
              LOG.warn(
                  "merged snapshot refused version={} problem=\"{}\"", candidate.getVersion(), p));
      return;
    }
    LOG.info(
        "snapshot changed version={} previous={} cause={} services={}",
        candidate.getVersion(),
        current.getVersion(),
        cause,
        candidate.getServicesCount());
    current = candidate;
    for (Consumer<RouteSnapshot> listener : listeners) {
      listener.accept(candidate);
    }
  }

  private static RouteSnapshot checked(RouteSnapshot snapshot) throws InvalidInputException {
    List<Problem> problems = SnapshotValidator.validate(snapshot);
    if (!problems.isEmpty()) {
      throw new InvalidInputException("routes " + snapshot.getVersion(), problems);
    }
    return snapshot;
  }
}
