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
    private PathSource lds;
    volatile String ldsVersion = "";
    volatile Instant ldsLastUpdated;

    ListenerManager(ConfigLoader loader, Stats stats, Log log, Faults faults, FilterChains.Context context,
                    ScheduledExecutorService timers, long drainTimeMs, boolean drainImmediate) {
        this.loader = loader;
        this.stats = stats;
        this.log = log;
        this.faults = faults;
        this.context = context;
        this.timers = timers;
        this.drainTimeMs = drainTimeMs;
        this.drainImmediate = drainImmediate;
        stats.computedGauge("listener_manager.total_listeners_active", listeners::size);
        stats.declare("listener_manager.", "listener_added", "listener_modified", "listener_removed",
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
        built.forEach((name, l) -> {
            listeners.put(name, l);
            staticNames.add(name);
        });
    }

    void startLds(ConfigSource source) throws ConfigException {
        lds = PathSource.of(source, "lds_config");
        stats.declare("listener_manager.lds.", "update_attempt", "update_success", "update_rejected", "update_failure");
        lds.subscribe(context.watcher(), this::onLdsFile);
        onLdsFile();
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

    void onLdsFile() {
        stats.inc("listener_manager.lds.update_attempt");
        try {
            if (faults.rejectAllConfig()) {
                throw new ConfigException("simulator: every config is rejected (" + Faults.REJECT_ALL_CONFIG + ")");
            }
            ConfigLoader.DiscoveryFile file = loader.loadDiscoveryFile(lds.path());
            applyLds(file.versionInfo(), ConfigLoader.resources(file, Listener.class, ConfigLoader.LISTENER_TYPE));
            stats.inc("listener_manager.lds.update_success");
            stats.gauge("listener_manager.lds.version").set(file.versionInfo().hashCode() & 0x7fffffffL);
            log.info("upstream", "lds: add/update listeners from " + lds.path() + " version " + file.versionInfo());
        } catch (ConfigException e) {
            stats.inc("listener_manager.lds.update_rejected");
            log.warn("config", "Filesystem config update rejected: " + e.getMessage());
        }
    }

    private synchronized void applyLds(String version, List<Listener> list) throws ConfigException {
        Map<String, ActiveListener> current = new LinkedHashMap<>();
        for (ActiveListener l : listeners.values()) {
            if (l.dynamic) {
                current.put(l.name, l);
            }
        }
        for (Listener l : list) {
            if (l.getName().isEmpty()) {
                throw new ConfigException("error adding listener: LDS listeners must have a name");
            }
            if (staticNames.contains(l.getName())) {
                throw new ConfigException("error updating listener '" + l.getName() + "': cannot update a static listener");
            }
        }
        List<Listener> changed = list.stream().filter(l -> current.get(l.getName()) == null
                || !current.get(l.getName()).proto.equals(l)).toList();
        Map<String, ActiveListener> built = buildAll(changed, version, true, current);
        Set<String> wanted = new HashSet<>();
        list.forEach(l -> wanted.add(l.getName()));
        List<ActiveListener> toBind = new ArrayList<>();
        for (ActiveListener b : built.values()) {
            ActiveListener old = current.get(b.name);
            if (old == null || !old.address.equals(b.address)) {
                toBind.add(b);
            }
        }
        if (workersStarted) {
            bindAll(toBind, built);
        }
        // Commit.
        for (ActiveListener old : current.values()) {
            if (!wanted.contains(old.name)) {
                listeners.remove(old.name);
                retire(old);
                stats.inc("listener_manager.listener_removed");
            }
        }
        for (ActiveListener b : built.values()) {
            ActiveListener old = current.get(b.name);
            if (old != null && old.address.equals(b.address)) {
                old.replaceHandler(b.proto, b.handler(), version).close();
                stats.inc("listener_manager.listener_modified");
                continue;
            }
            if (old != null) {
                retire(old);
                stats.inc("listener_manager.listener_modified");
            } else {
                stats.inc("listener_manager.listener_added");
            }
            listeners.put(b.name, b);
            if (workersStarted) {
                b.startAccepting();
            }
        }
        for (ActiveListener l : listeners.values()) {
            if (l.dynamic && wanted.contains(l.name)) {
                l.versionInfo = version;
            }
        }
        ldsVersion = version;
        ldsLastUpdated = Instant.now();
    }

    private void bindAll(List<ActiveListener> toBind, Map<String, ActiveListener> built) throws ConfigException {
        List<ActiveListener> bound = new ArrayList<>();
        try {
            for (ActiveListener b : toBind) {
                b.useChannel(bind(b));
                bound.add(b);
            }
        } catch (IOException e) {
            bound.forEach(ActiveListener::stopAccepting);
            built.values().forEach(b -> b.handler().close());
            throw new ConfigException("cannot bind '" + e.getMessage());
        }
    }

    /** Removed or replaced: stop accepting, drain its connections, close what is left after the drain time. */
    private void retire(ActiveListener old) {
        old.stopAccepting();
        old.startDrain(drainTimeMs, drainImmediate);
        timers.schedule(old::closeAll, drainTimeMs, TimeUnit.MILLISECONDS);
    }

    private Map<String, ActiveListener> buildAll(List<Listener> list, String version, boolean dynamic,
                                                 Map<String, ActiveListener> replaced) throws ConfigException {
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
                    throw new ConfigException("error adding listener named '" + name + "': duplicate listener name");
                }
                String other = addresses.put(key, name);
                if (other != null && address.getPort() != 0) {
                    throw new ConfigException("error adding listener '" + key + "': listener '" + name
                            + "' has duplicate address '" + key + "' as existing listener '" + other + "'");
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
            throw new ConfigException("error adding listener '" + l.getName() + "': address is necessary"
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
        listeners.values().forEach(ActiveListener::closeAll);
    }
}
