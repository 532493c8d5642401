package dev.envoyagent.testkit.envoy;

import java.io.Closeable;
import java.io.EOFException;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.net.InetSocketAddress;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.ServerSocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.TreeMap;

/**
 * Envoy's hot restart between epochs of one base id. Envoy's shared-memory region becomes a small
 * file ({@code envoy_sim_shared_memory_<base id>}: hot-restart version and the INITIALIZING flag);
 * its domain sockets become one abstract SEQPACKET socket per epoch, on which the child asks its
 * parent to shut its admin, hand over each listen socket (SCM_RIGHTS), drain, send counters, and exit.
 */
final class HotRestart implements Closeable {
    private static final int CALL_TIMEOUT_MS = 30_000;

    /** What the parent side does when its child asks. */
    interface ParentSide {
        void shutdownAdmin();

        ServerSocketChannel listenSocket(String addressKey);

        Map<String, Long> counters();

        void drainListeners();

        void terminate();
    }

    /** Refusal to start, with Envoy's wording where known. */
    static final class HotRestartException extends Exception {
        HotRestartException(String message) {
            super(message);
        }
    }

    private final SimulatorOptions options;
    private final Faults faults;
    private final Log log;
    private final Path sharedMemory;
    private final String socketBase;
    private volatile DomainSocket parent;
    private volatile DomainSocket listening;
    private volatile long originalStartMillis = System.currentTimeMillis();

    private HotRestart(SimulatorOptions options, Faults faults, Log log) {
        this.options = options;
        this.faults = faults;
        this.log = log;
        this.sharedMemory = Path.of(faults.sharedMemoryDir(), "envoy_sim_shared_memory_" + options.baseId());
        String base = options.socketPath().startsWith("@") ? options.socketPath().substring(1)
                : options.socketPath().replace('/', '_');
        this.socketBase = base + "_sim_" + options.baseId() + "_";
    }

    boolean enabled() {
        return !options.disableHotRestart();
    }

    boolean hasParent() {
        return parent != null;
    }

    long originalStartMillis() {
        return originalStartMillis;
    }

    /**
     * Epoch 0 resets the region; a later epoch checks version and INITIALIZING, sets the flag and
     * connects to its parent, then asks it to shut its admin (which makes it terminate its own parent).
     */
    static HotRestart initialize(SimulatorOptions options, Faults faults, Log log) throws HotRestartException {
        HotRestart hr = new HotRestart(options, faults, log);
        if (!hr.enabled()) {
            return hr;
        }
        try {
            if (options.restartEpoch() == 0) {
                hr.writeRegion(faults.hotRestartVersion(), true);
                return hr;
            }
            if (!Files.exists(hr.sharedMemory)) {
                if (!options.skipHotRestartOnNoParent()) {
                    throw new HotRestartException("cannot open shared memory region /envoy_shared_memory_"
                            + options.baseId() + " check user permissions. Error: No such file or directory");
                }
                hr.writeRegion(faults.hotRestartVersion(), true);
                log.warn("main", "no hot-restart parent (no shared memory); starting without one");
                return hr;
            }
            hr.claimRegion();
            hr.connectParent();
            if (hr.parent != null) {
                DomainSocket.Message reply = hr.parent.call("SHUTDOWN_ADMIN", CALL_TIMEOUT_MS);
                hr.originalStartMillis = Long.parseLong(reply.text().split(" ")[1]);
                log.info("main", "parent epoch " + (options.restartEpoch() - 1) + " shut its admin");
            }
            return hr;
        } catch (IOException | RuntimeException e) {
            throw new HotRestartException("hot restart failed: " + e.getMessage());
        }
    }

    @SuppressWarnings("try") // the lock is held for the block; it needs no name inside it
    private void claimRegion() throws IOException, HotRestartException {
        try (FileChannel ch = FileChannel.open(sharedMemory, java.nio.file.StandardOpenOption.READ,
                java.nio.file.StandardOpenOption.WRITE); FileLock ignored = ch.lock()) {
            Map<String, String> region = readRegion();
            String version = region.getOrDefault("version", "");
            if (!version.equals(faults.hotRestartVersion())) {
                throw new HotRestartException("Hot restart version mismatch: this binary has "
                        + faults.hotRestartVersion() + ", the shared memory region holds " + version);
            }
            if ("1".equals(region.get("initializing"))) {
                throw new HotRestartException("previous envoy process is still initializing");
            }
            region.put("initializing", "1");
            writeRegionUnlocked(region);
        }
    }

    private void connectParent() throws IOException, HotRestartException {
        String name = socketBase + (options.restartEpoch() - 1);
        for (int attempt = 1; ; attempt++) {
            try {
                parent = DomainSocket.connect(name);
                return;
            } catch (DomainSocket.ConnectException e) {
                if (attempt >= Math.max(1, faults.parentConnectAttempts())) {
                    if (options.skipHotRestartOnNoParent()) {
                        log.warn("main", "no live parent epoch " + (options.restartEpoch() - 1)
                                + "; --skip-hot-restart-on-no-parent: starting without hot restart");
                        return;
                    }
                    throw new HotRestartException("unable to connect to the parent process (epoch "
                            + (options.restartEpoch() - 1) + ", base id " + options.baseId() + ") after " + attempt
                            + " attempts: errno " + e.errno);
                }
                log.warn("main", "parent not reachable (errno " + e.errno + "), retrying");
                sleep(faults.parentConnectIntervalMs());
            }
        }
    }

    /** Listens for the next epoch; each request from it is served on this thread, in order. */
    void listenForChild(ParentSide side) throws IOException {
        if (!enabled()) {
            return;
        }
        listening = DomainSocket.listen(socketBase + options.restartEpoch());
        Thread t = new Thread(() -> acceptChildren(side), "hot-restart-parent");
        t.setDaemon(true);
        t.start();
    }

    private void acceptChildren(ParentSide side) {
        DomainSocket l = listening;
        while (true) {
            try (DomainSocket child = l.accept(500)) {
                if (child == null) {
                    continue;
                }
                if (child.peerUid() != Libc.INSTANCE.getuid()) {
                    log.warn("main", "hot restart: refusing a peer of another user");
                    continue;
                }
                serveChild(child, side);
            } catch (IOException e) {
                if (listening == null) {
                    return;
                }
                log.debug("main", "hot restart: " + e.getMessage());
            }
        }
    }

    private void serveChild(DomainSocket child, ParentSide side) throws IOException {
        while (true) {
            DomainSocket.Message m;
            try {
                m = child.receive(1000);
            } catch (EOFException e) {
                log.info("main", "hot restart: child disconnected");
                return;
            }
            if (m == null) {
                continue;
            }
            String[] parts = m.text().split(" ", 2);
            switch (parts[0]) {
                case "SHUTDOWN_ADMIN" -> {
                    side.shutdownAdmin();
                    terminateParent(); // at most three epochs: N asking N-1 ends N-2
                    child.send("OK " + originalStartMillis);
                }
                case "PASS_LISTEN_SOCKET" -> {
                    ServerSocketChannel ch = side.listenSocket(parts[1]);
                    if (ch == null) {
                        child.send("NONE");
                    } else {
                        child.send("OK", ChannelFds.fd(ch));
                    }
                }
                case "STATS" -> {
                    StringBuilder sb = new StringBuilder();
                    side.counters().forEach((k, v) -> sb.append(k).append('=').append(v).append('\n'));
                    child.send(sb.length() == 0 ? "\n" : sb.toString());
                }
                case "DRAIN" -> {
                    side.drainListeners();
                    child.send("OK");
                }
                case "TERMINATE" -> {
                    child.send("OK");
                    side.terminate();
                }
                default -> child.send("ERROR unknown request");
            }
        }
    }

    /** The parent's socket at this address, or null when it has none (then the child binds anew). */
    ServerSocketChannel takeListenSocket(InetSocketAddress address) throws IOException {
        DomainSocket p = parent;
        if (p == null) {
            return null;
        }
        String key = address.getAddress().getHostAddress() + ":" + address.getPort();
        DomainSocket.Message reply = p.call("PASS_LISTEN_SOCKET " + key, CALL_TIMEOUT_MS);
        if (reply.fd() < 0) {
            return null;
        }
        return ChannelFds.wrap(reply.fd(), address.getAddress() instanceof java.net.Inet6Address);
    }

    void drainParent() {
        call("DRAIN");
    }

    /** The parent's counters (Envoy hands counters over; gauges and histograms are not). */
    Map<String, Long> parentCounters() {
        Map<String, Long> out = new TreeMap<>();
        String text = call("STATS");
        if (text != null) {
            for (String line : text.split("\n")) {
                int eq = line.lastIndexOf('=');
                if (eq > 0) {
                    out.put(line.substring(0, eq), Long.parseLong(line.substring(eq + 1)));
                }
            }
        }
        return out;
    }

    /** Tells the parent to exit and forgets it. Safe to call when there is none. */
    void terminateParent() {
        DomainSocket p = parent;
        if (p != null) {
            call("TERMINATE");
            parent = null;
            p.close();
        }
    }

    private String call(String request) {
        DomainSocket p = parent;
        if (p == null) {
            return null;
        }
        try {
            return p.call(request, CALL_TIMEOUT_MS).text();
        } catch (IOException e) {
            log.warn("main", "hot restart: " + request + " to parent failed: " + e.getMessage());
            return null;
        }
    }

    @SuppressWarnings("try") // the lock is held for the block; it needs no name inside it
    void clearInitializing() {
        if (!enabled()) {
            return;
        }
        try (FileChannel ch = FileChannel.open(sharedMemory, java.nio.file.StandardOpenOption.READ,
                java.nio.file.StandardOpenOption.WRITE); FileLock ignored = ch.lock()) {
            Map<String, String> region = readRegion();
            region.put("initializing", "0");
            writeRegionUnlocked(region);
        } catch (IOException e) {
            log.warn("main", "cannot clear the INITIALIZING flag: " + e.getMessage());
        }
    }

    private void writeRegion(String version, boolean initializing) throws IOException {
        Files.createDirectories(sharedMemory.getParent());
        Path tmp = sharedMemory.resolveSibling(sharedMemory.getFileName() + ".tmp" + ProcessHandle.current().pid());
        Files.writeString(tmp, "version=" + version + "\ninitializing=" + (initializing ? 1 : 0) + "\n");
        Files.move(tmp, sharedMemory, java.nio.file.StandardCopyOption.REPLACE_EXISTING,
                java.nio.file.StandardCopyOption.ATOMIC_MOVE);
    }

    private Map<String, String> readRegion() throws IOException {
        Map<String, String> out = new TreeMap<>();
        for (String line : Files.readAllLines(sharedMemory, StandardCharsets.UTF_8)) {
            int eq = line.indexOf('=');
            if (eq > 0) {
                out.put(line.substring(0, eq), line.substring(eq + 1));
            }
        }
        return out;
    }

    private void writeRegionUnlocked(Map<String, String> region) throws IOException {
        StringBuilder sb = new StringBuilder();
        region.forEach((k, v) -> sb.append(k).append('=').append(v).append('\n'));
        try (RandomAccessFile f = new RandomAccessFile(sharedMemory.toFile(), "rw")) {
            f.setLength(0);
            f.write(sb.toString().getBytes(StandardCharsets.UTF_8));
            f.getFD().sync();
        }
    }

    private static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    @Override
    public void close() {
        DomainSocket l = listening;
        listening = null;
        if (l != null) {
            l.close();
        }
        DomainSocket p = parent;
        parent = null;
        if (p != null) {
            p.close();
        }
    }
}
