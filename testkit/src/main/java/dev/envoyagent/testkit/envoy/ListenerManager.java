package dev.envoyagent.testkit.envoy;

import io.envoyproxy.envoy.config.core.v3.ConfigSource;
import io.envoyproxy.envoy.config.core.v3.SocketAddress;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * Static listeners and LDS from a file. Before the workers start, listen sockets come from the
 * hot-restart parent when it has them (the same kernel socket) or are bound fresh.
 */
final class ListenerManager {
  /** Where an initial listen socket comes from: the parent epoch, or null to bind a new one. */
  interface SocketSource {
    ServerSocketChannel take(InetSocketAddress address) throws IOException;
  }

  private final ConfigLoader loader;
  private final Stats stats;
  private final Log log;
  private final Faults faults;
  private final FilterChains.Context context;
  private final ScheduledExecutorService timers;
  private final long drainTimeMs;
  private final boolean drainImmediate;
  private final Map<String, ActiveListener> listeners = new ConcurrentHashMap<>();
  private final Set<String> staticNames = ConcurrentHashMap.newKeySet();
  private volatile boolean workersStarted;
  private FileSubscription lds;
  private final Map<String, ErrorState> errorTracker = new ConcurrentHashMap<>();
  private volatile List<ErrorState> overallErrors = List.of();
  volatile String ldsVersion = "";
  volatile Instant ldsLastUpdated;

  ListenerManager(
      ConfigLoader loader,
      Stats stats,
      Log log,
      Faults faults,
      FilterChains.Context context,
      ScheduledExecutorService timers,
      long drainTimeMs,
      boolean drainImmediate) {
    this.loader = loader;
    this.stats = stats;
    this.log = log;
    this.faults = faults;
    this.context = context;
    this.timers = timers;
    this.drainTimeMs = drainTimeMs;
    this.drainImmediate = drainImmediate;
    stats.computedGauge("listener_manager.total_listeners_active", listeners::size);
    stats.declare(
        "listener_manager.",
        "listener_added",
        "listener_modified",
        "listener_removed",
        "listener_create_failure");
  }

  Collection<ActiveListener> all() {
    return listeners.values();
  }

  boolean isStatic(String name) {
    return staticNames.contains(name);
  }

  void addStatic(List<Listener> list) throws ConfigException {
    Map<String, ActiveListener> built = buildAll(list, "", false, Map.of());
    built.forEach(
        (name, l) -> {
          listeners.put(name, l);
          staticNames.add(name);
        });
  }

  /**
   * LdsApiImpl: subscribes to the LDS file and applies its current content. Never called in
   * validate mode: Envoy's validation server creates no LDS API.
   */
  void startLds(ConfigSource source) throws ConfigException {
    lds =
        FileSubscription.create(
            source,
            "lds_config",
            ConfigLoader.LISTENER_TYPE,
            "listener_manager.lds.",
            loader,
            stats,
            log,
            faults,
            context.watcher(),
            this::onLdsUpdate);
    lds.start();
  }

  /** An UpdateFailureState of the listeners config dump (admin/v3/config_dump_shared.proto). */
  record ErrorState(
      String name, Listener failedConfiguration, String details, Instant lastUpdateAttempt) {}

  /** Per listener name, kept across updates (ListenerManagerImpl's lds_error_state_tracker_). */
  Map<String, ErrorState> errorStates() {
    return errorTracker;
  }

  /** The failures of the last LDS update (overall_error_state_, replaced at every update). */
  List<ErrorState> lastUpdateErrors() {
    return overallErrors;
  }

  /** Takes or binds every socket and starts accepting: Envoy's "starting workers". */
  void startWorkers(SocketSource parent) throws IOException {
    for (ActiveListener l : listeners.values()) {
      if (l.channel() == null) {
        ServerSocketChannel inherited = parent == null ? null : parent.take(l.address);
        l.useChannel(inherited != null ? inherited : bind(l));
        if (inherited != null) {
          log.info("listener", "took listen socket " + l.addressKey() + " from the parent");
        }
      }
      l.startAccepting();
    }
    workersStarted = true;
  }

  /**
   * LdsApiImpl::onConfigUpdate: removals first, then each listener on its own; errors are
   * collected.
   */
  private synchronized void onLdsUpdate(ConfigLoader.DiscoveryFile file) throws ConfigException {
    List<Listener> list = ConfigLoader.resources(file, Listener.class, ConfigLoader.LISTENER_TYPE);
    String version = file.versionInfo();
    Set<String> wanted = new HashSet<>();
    list.forEach(l -> wanted.add(l.getName()));
    boolean anyApplied = false;
    for (ActiveListener old : new ArrayList<>(listeners.values())) {
      if (old.dynamic && !wanted.contains(old.name)) {
        listeners.remove(old.name);
        retire(old);
        stats.inc("listener_manager.listener_removed");
        log.info("upstream", "lds: remove listener '" + old.name + "'");
        anyApplied = true;
      }
    }
    List<ErrorState> failures = new ArrayList<>();
    StringBuilder message = new StringBuilder();
    Set<String> seen = new HashSet<>();
    for (Listener l : list) {
      String error;
      if (!seen.add(l.getName())) {
        error = "duplicate listener " + l.getName() + " found";
      } else {
        try {
          if (addOrUpdate(l, version)) {
            anyApplied = true;
            log.info("upstream", "lds: add/update listener '" + l.getName() + "'");
          }
          continue;
        } catch (ConfigException | RuntimeException e) {
          error = e.getMessage();
        }
      }
      failures.add(new ErrorState(null, l, error, null));
      message.append(l.getName()).append(": ").append(error).append('\n');
    }
    overallErrors = List.copyOf(failures);
    if (anyApplied) {
      ldsVersion = version;
      ldsLastUpdated = Instant.now();
    }
    if (message.length() > 0) {
      throw new ConfigException("Error adding/updating listener(s) " + message);
    }
  }

  /**
   * ListenerManagerImpl::addOrUpdateListener: false when skipped (a static listener's name, or
   * unchanged); a failure is also recorded in the listener's error state.
   */
  private boolean addOrUpdate(Listener l, String version) throws ConfigException {
    String name = l.getName().isEmpty() ? java.util.UUID.randomUUID().toString() : l.getName();
    if (!l.hasAddress()) {
      throw new ConfigException("error adding listener named '" + name + "': address is necessary");
    }
    try {
      return addOrUpdateInternal(l, name, version);
    } catch (ConfigException | RuntimeException e) {
      errorTracker.put(name, new ErrorState(name, l, e.getMessage(), Instant.now()));
      throw e;
    }
  }

  private boolean addOrUpdateInternal(Listener l, String name, String version)
      throws ConfigException {
    ActiveListener current = listeners.get(name);
    if (staticNames.contains(name) || current != null && current.proto.equals(l)) {
      return false; // blockLdsUpdate: static, or the same config
    }
    Map<String, ActiveListener> replaced = current == null ? Map.of() : Map.of(name, current);
    Map<String, ActiveListener> built = buildAll(List.of(l), version, true, replaced);
    ActiveListener b = built.get(name);
    if (workersStarted && (current == null || !current.address.equals(b.address))) {
      bindAll(List.of(b), built);
    }
    if (current != null && current.address.equals(b.address)) {
      current.replaceHandler(b.proto, b.handler(), version).close();
      current.versionInfo = version;
      stats.inc("listener_manager.listener_modified");
      return true;
    }
    if (current != null) {
      retire(current);
      stats.inc("listener_manager.listener_modified");
    } else {
      stats.inc("listener_manager.listener_added");
    }
    listeners.put(name, b);
    if (workersStarted) {
      b.startAccepting();
    }
    return true;
  }

  private void bindAll(List<ActiveListener> toBind, Map<String, ActiveListener> built)
      throws ConfigException {
    List<ActiveListener> bound = new ArrayList<>();
    try {
      for (ActiveListener b : toBind) {
        b.useChannel(bind(b));
        bound.add(b);
      }
    } catch (IOException e) {
      bound.forEach(ActiveListener::stopAccepting);
      built.values().forEach(b -> b.handler().close());
      stats.inc("listener_manager.listener_create_failure");
      throw new ConfigException("cannot bind '" + e.getMessage());
    }
  }

  /**
   * Removed or replaced: stop accepting, drain its connections, close what is left after the drain
   * time.
   */
  private void retire(ActiveListener old) {
    old.stopAccepting();
    old.startDrain(drainTimeMs, drainImmediate);
    timers.schedule(old::closeAll, drainTimeMs, TimeUnit.MILLISECONDS);
  }

  private Map<String, ActiveListener> buildAll(
      List<Listener> list, String version, boolean dynamic, Map<String, ActiveListener> replaced)
      throws ConfigException {
    Map<String, ActiveListener> built = new LinkedHashMap<>();
    Map<String, String> addresses = new java.util.HashMap<>();
    for (ActiveListener l : listeners.values()) {
      if (!replaced.containsKey(l.name)) {
        addresses.put(l.addressKey(), l.name);
      }
    }
    try {
      for (Listener l : list) {
        InetSocketAddress address = address(l);
        String key = address.getAddress().getHostAddress() + ":" + address.getPort();
        String name = l.getName().isEmpty() ? key : l.getName();
        if (built.containsKey(name)) {
          throw new ConfigException(
              "error adding listener named '" + name + "': duplicate listener name");
        }
        String other = addresses.put(key, name);
        if (other != null && address.getPort() != 0) {
          throw new ConfigException(
              "error adding listener: '"
                  + name
                  + "' has duplicate address '"
                  + key
                  + "' as existing listener, to check if the listener has duplicated addresses with other "
                  + "listeners or 'enable_reuse_port' is set to 'false' for the listener");
        }
        NetworkHandler handler = FilterChains.build(l, key, context);
        Listener named = l.getName().isEmpty() ? l.toBuilder().setName(name).build() : l;
        built.put(name, new ActiveListener(named, address, handler, version, dynamic, stats, log));
      }
    } catch (ConfigException | RuntimeException e) {
      built.values().forEach(b -> b.handler().close());
      throw e;
    }
    return built;
  }

  static InetSocketAddress address(Listener l) throws ConfigException {
    if (!l.hasAddress() || !l.getAddress().hasSocketAddress()) {
      throw new ConfigException(
          "error adding listener '"
              + l.getName()
              + "': address is necessary"
              + " (only socket_address listeners are simulated)");
    }
    SocketAddress sa = l.getAddress().getSocketAddress();
    if (sa.getProtocol() != SocketAddress.Protocol.TCP) {
      throw new ConfigException("simulator: UDP listeners are not supported (" + l.getName() + ")");
    }
    if (!UpstreamCluster.isIpLiteral(sa.getAddress())) {
      throw new ConfigException("malformed IP address: " + sa.getAddress());
    }
    try {
      return new InetSocketAddress(InetAddress.getByName(sa.getAddress()), sa.getPortValue());
    } catch (java.net.UnknownHostException e) {
      throw new ConfigException("malformed IP address: " + sa.getAddress());
    }
  }

  private ServerSocketChannel bind(ActiveListener l) throws IOException {
    ServerSocketChannel ch = ServerSocketChannel.open();
    try {
      ch.setOption(java.net.StandardSocketOptions.SO_REUSEADDR, true);
      int backlog = l.proto.hasTcpBacklogSize() ? l.proto.getTcpBacklogSize().getValue() : 1024;
      ch.bind(l.address, backlog);
      return ch;
    } catch (IOException e) {
      ch.close();
      throw new IOException(l.addressKey() + "': " + e.getMessage(), e);
    }
  }

  /** The open listen socket at an address, for handing to the next epoch. */
  ServerSocketChannel channelFor(String addressKey) {
    for (ActiveListener l : listeners.values()) {
      if (l.addressKey().equals(addressKey) && l.channel() != null && l.channel().isOpen()) {
        return l.channel();
      }
    }
    return null;
  }

  /** Hot-restart parent and /drain_listeners: stop accepting everywhere. */
  void stopListeners() {
    listeners.values().forEach(ActiveListener::stopAccepting);
  }

  void startDrain(long drainMs, boolean immediate) {
    listeners.values().forEach(l -> l.startDrain(drainMs, immediate));
  }

  void closeIdleConnections() {
    listeners.values().forEach(ActiveListener::closeIdleConnections);
  }

  int connectionCount() {
    return listeners.values().stream().mapToInt(ActiveListener::connectionCount).sum();
  }

  void closeAll() {
    if (lds != null) {
      lds.close();
    }
    listeners.values().forEach(ActiveListener::closeAll);
  }
}
