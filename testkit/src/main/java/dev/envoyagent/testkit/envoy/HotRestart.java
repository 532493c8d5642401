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
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Envoy's hot restart between epochs of one base id. Envoy's shared-memory region becomes a small
 * file ({@code envoy_sim_shared_memory_<base id>}: hot-restart version and the INITIALIZING flag);
 * its domain sockets become one abstract SEQPACKET socket per epoch, on which the child asks its
 * parent to shut its admin, hand over each listen socket (SCM_RIGHTS), drain, send its stats, and
 * exit.
 *
 * <p>Read from Envoy's {@code source/server/hot_restart_impl.cc} ({@code attachSharedMemory}),
 * {@code hot_restarting_child.cc}, {@code hot_restarting_parent.cc} and {@code
 * hot_restarting_base.cc} ({@code RpcStream::sendHotRestartMessage}: a refused send is retried 10
 * times 1 s apart, then the process aborts).
 */
final class HotRestart implements Closeable {
  private static final int CALL_TIMEOUT_MS = 30_000;

  /** Envoy's {@code HOT_RESTART_VERSION.sizeof(SharedMemory)} split into its two checks. */
  private static final String REBUILD_HINT =
      "You must have hot restarted into a not-hot-restart-compatible new version of Envoy.";

  private static final int MAX_CHUNK = 32 * 1024;

  /** What the parent side does when its child asks. */
  interface ParentSide {
    void shutdownAdmin();

    ServerSocketChannel listenSocket(String addressKey);

    /** Counter and gauge values, as {@code HotRestartingParent::Internal::exportStatsToChild}. */
    ParentStats exportStats();

    void drainListeners();

    void terminate();
  }

  /** The parent's stats as its child receives them. */
  record ParentStats(Map<String, Long> counters, Map<String, Long> gauges) {}

  /** Refusal to start with an EnvoyException (exit 1), with Envoy's wording. */
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
  private volatile boolean parentTerminated;
  private volatile DomainSocket listening;
  private volatile long originalStartMillis = System.currentTimeMillis();

  private HotRestart(SimulatorOptions options, Faults faults, Log log) {
    this.options = options;
    this.faults = faults;
    this.log = log;
    this.sharedMemory =
        Path.of(faults.sharedMemoryDir(), "envoy_sim_shared_memory_" + options.baseId());
    String base =
        options.socketPath().startsWith("@")
            ? options.socketPath().substring(1)
            : options.socketPath().replace('/', '_');
    this.socketBase = base + "_sim_" + options.baseId() + "_";
    this.parentTerminated = options.restartEpoch() == 0;
  }

  boolean enabled() {
    return !options.disableHotRestart();
  }

  boolean hasParent() {
    return parent != null && !parentTerminated;
  }

  long originalStartMillis() {
    return originalStartMillis;
  }

  /**
   * Attaches the shared-memory region, as Envoy's {@code HotRestartImpl} constructor does before
   * anything else (before the bootstrap is read): epoch 0 recreates it; a later epoch panics when
   * it is missing, aborts on a size or version mismatch, and refuses (exit 1) when the INITIALIZING
   * flag is set; otherwise it sets the flag.
   */
  static HotRestart attach(SimulatorOptions options, Faults faults, Log log)
      throws HotRestartException {
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
        // Envoy names the region after the base id scaled by 10 (hot_restart_impl.cc).
        Crash.panic(
            log,
            "source/server/hot_restart_impl.cc",
            "cannot open shared memory region "
                + "/envoy_shared_memory_"
                + options.baseId() * 10
                + " check user permissions. Error: No such file or directory");
      }
      hr.claimRegion();
      return hr;
    } catch (IOException | RuntimeException e) {
      throw new HotRestartException("hot restart failed: " + e.getMessage());
    }
  }

  /**
   * Reaches the parent (epoch N-1) and asks it to shut its admin, which makes it terminate its own
   * parent: {@code sendParentAdminShutdownRequest} in {@code InstanceImpl::initialize}, after the
   * bootstrap is loaded. With {@code --skip-hot-restart-on-no-parent} one refused attempt falls
   * back to a start without hot restart; without it the refused send is retried and then aborts.
   */
  void connectToParent() throws HotRestartException {
    if (!enabled() || options.restartEpoch() == 0) {
      return;
    }
    try {
      if (options.skipHotRestartOnNoParent()) {
        try {
          parent = DomainSocket.connect(parentSocketName());
        } catch (DomainSocket.ConnectException e) {
          log.warn(
              "main", "hot restart sendmsg() connection refused, falling back to regular restart");
          parentTerminated = true;
          return;
        }
      } else {
        parent = connectWithRetries();
      }
      String reply = exchange("SHUTDOWN_ADMIN").text();
      originalStartMillis = Long.parseLong(reply.split(" ")[1]);
      log.info("main", "parent epoch " + (options.restartEpoch() - 1) + " shut its admin");
    } catch (IOException | RuntimeException e) {
      throw new HotRestartException("hot restart failed: " + e.getMessage());
    }
  }

  private String parentSocketName() {
    return socketBase + (options.restartEpoch() - 1);
  }

  /**
   * Envoy's retry of a refused {@code sendmsg()}: 10 attempts 1 s apart (the env knobs), then
   * abort.
   */
  private DomainSocket connectWithRetries() throws IOException {
    int attempts = Math.max(1, faults.parentConnectAttempts());
    int errno = Libc.ECONNREFUSED;
    for (int attempt = 1; attempt <= attempts; attempt++) {
      try {
        return DomainSocket.connect(parentSocketName());
      } catch (DomainSocket.ConnectException e) {
        errno = e.errno;
        log.error("main", "hot restart sendmsg() connection refused, retrying");
        if (attempt < attempts) {
          sleep(faults.parentConnectIntervalMs());
        }
      }
    }
    Abort.releaseAssert(
        log,
        "source/server/hot_restarting_base.cc",
        "false",
        "hot restart sendmsg() failed: returned -1, errno " + errno);
    throw new IllegalStateException("unreachable");
  }

  @SuppressWarnings("try") // the lock is held for the block; it needs no name inside it
  private void claimRegion() throws IOException, HotRestartException {
    try (FileChannel ch =
            FileChannel.open(
                sharedMemory,
                java.nio.file.StandardOpenOption.READ,
                java.nio.file.StandardOpenOption.WRITE);
        FileLock ignored = ch.lock()) {
      Map<String, String> region = readRegion();
      String[] theirs = region.getOrDefault("version", "").split("\\.", 2);
      String[] ours = faults.hotRestartVersion().split("\\.", 2);
      if (!part(theirs, 1).equals(part(ours, 1))) {
        Abort.releaseAssert(
            log,
            "source/server/hot_restart_impl.cc",
            "shmem->size_ == sizeof(SharedMemory)",
            "Hot restart SharedMemory size mismatch! " + REBUILD_HINT);
      }
      if (!part(theirs, 0).equals(part(ours, 0))) {
        Abort.releaseAssert(
            log,
            "source/server/hot_restart_impl.cc",
            "shmem->version_ == HOT_RESTART_VERSION",
            "Hot restart version mismatch! " + REBUILD_HINT);
      }
      if ("1".equals(region.get("initializing"))) {
        throw new HotRestartException("previous envoy process is still initializing");
      }
      region.put("initializing", "1");
      writeRegionUnlocked(region);
    }
  }

  private static String part(String[] parts, int i) {
    return i < parts.length ? parts[i] : "";
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
          // InstanceImpl::shutdownAdmin: "terminating parent process" (at most three epochs live).
          log.warn("main", "terminating parent process");
          terminateParent();
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
        case "STATS" -> sendStats(child, side.exportStats());
        case "DRAIN" -> {
          side.drainListeners();
          child.send("OK");
        }
        case "TERMINATE" -> {
          child.send("OK");
          log.info("main", "shutting down due to child request");
          side.terminate();
        }
        default -> child.send("ERROR unknown request");
      }
    }
  }

  /**
   * Stats go in chunks ("+" = more follow, "=" = last): a large Envoy has more than one datagram's
   * worth.
   */
  private static void sendStats(DomainSocket child, ParentStats stats) throws IOException {
    List<String> lines = new ArrayList<>();
    stats.counters().forEach((k, v) -> lines.add("c " + k + "=" + v));
    stats.gauges().forEach((k, v) -> lines.add("g " + k + "=" + v));
    StringBuilder chunk = new StringBuilder();
    for (String line : lines) {
      if (chunk.length() + line.length() + 1 > MAX_CHUNK && chunk.length() > 0) {
        child.send("+" + chunk);
        chunk.setLength(0);
      }
      chunk.append(line).append('\n');
    }
    child.send("=" + chunk);
  }

  /** The parent's socket at this address, or null when it has none (then the child binds anew). */
  ServerSocketChannel takeListenSocket(InetSocketAddress address) throws IOException {
    String key = address.getAddress().getHostAddress() + ":" + address.getPort();
    DomainSocket.Message reply = exchange("PASS_LISTEN_SOCKET " + key);
    if (reply == null || reply.fd() < 0) {
      return null;
    }
    return ChannelFds.wrap(reply.fd(), address.getAddress() instanceof java.net.Inet6Address);
  }

  /** {@code drainParentListeners}: the parent stops accepting and drains. */
  void drainParent() {
    exchangeOrLog("DRAIN");
  }

  /**
   * The parent's counters and gauges ({@code getParentStats}), or null when it has been terminated
   * (or never existed). A parent that vanished makes this abort, as in Envoy.
   */
  ParentStats parentStats() {
    DomainSocket.Message reply;
    try {
      reply = exchange("STATS");
    } catch (IOException e) {
      log.warn("main", "hot restart: STATS from parent failed: " + e.getMessage());
      return null;
    }
    if (reply == null) {
      return null;
    }
    Map<String, Long> counters = new TreeMap<>();
    Map<String, Long> gauges = new TreeMap<>();
    for (String line : reply.text().split("\n")) {
      int eq = line.lastIndexOf('=');
      if (line.length() > 2 && eq > 2) {
        long value = Long.parseLong(line.substring(eq + 1));
        (line.charAt(0) == 'c' ? counters : gauges).put(line.substring(2, eq), value);
      }
    }
    return new ParentStats(counters, gauges);
  }

  /**
   * {@code sendParentTerminateRequest}: tells the parent to exit, once; afterwards no more messages
   * go to it. Safe to call when there is none.
   */
  synchronized void terminateParent() {
    if (parentTerminated) {
      return;
    }
    if (parent != null) {
      exchangeOrLog("TERMINATE");
    }
    parentTerminated = true;
    DomainSocket p = parent;
    parent = null;
    if (p != null) {
      p.close();
    }
  }

  private void exchangeOrLog(String request) {
    try {
      exchange(request);
    } catch (IOException e) {
      log.warn("main", "hot restart: " + request + " to parent failed: " + e.getMessage());
    }
  }

  /**
   * One request and its reply (multi-part replies joined), or null when the parent is terminated. A
   * parent that is gone (the send fails or the socket ends) is reconnected to with Envoy's retries
   * of a refused send; when nobody answers the process aborts, as {@code
   * RpcStream::sendHotRestartMessage} does. A reply that does not come in time is an IOException.
   */
  private synchronized DomainSocket.Message exchange(String request) throws IOException {
    for (int round = 0; ; round++) {
      DomainSocket p = parent;
      if (parentTerminated || p == null) {
        return null;
      }
      try {
        try {
          p.send(request);
        } catch (IOException e) {
          throw new EOFException(e.getMessage());
        }
        DomainSocket.Message first = p.receive(CALL_TIMEOUT_MS);
        if (first == null) {
          throw new IOException(
              "no reply to " + request.split(" ", 2)[0] + " within " + CALL_TIMEOUT_MS + " ms");
        }
        if (!request.equals("STATS")) {
          return first;
        }
        StringBuilder text = new StringBuilder();
        DomainSocket.Message part = first;
        while (true) {
          text.append(part.text().substring(1));
          if (part.text().startsWith("=")) {
            return new DomainSocket.Message(text.toString(), -1);
          }
          part = p.receive(CALL_TIMEOUT_MS);
          if (part == null) {
            throw new IOException("stats from the parent stopped mid-way");
          }
        }
      } catch (EOFException gone) {
        p.close();
        if (round > 0) {
          Abort.releaseAssert(
              log,
              "source/server/hot_restarting_base.cc",
              "false",
              "hot restart sendmsg() failed: returned -1, errno 32");
        }
        log.error(
            "main",
            "hot restart: the parent epoch "
                + (options.restartEpoch() - 1)
                + " is gone ("
                + gone.getMessage()
                + ")");
        parent = connectWithRetries();
      }
    }
  }

  @SuppressWarnings("try") // the lock is held for the block; it needs no name inside it
  void clearInitializing() {
    if (!enabled()) {
      return;
    }
    try (FileChannel ch =
            FileChannel.open(
                sharedMemory,
                java.nio.file.StandardOpenOption.READ,
                java.nio.file.StandardOpenOption.WRITE);
        FileLock ignored = ch.lock()) {
      Map<String, String> region = readRegion();
      region.put("initializing", "0");
      writeRegionUnlocked(region);
    } catch (IOException e) {
      log.warn("main", "cannot clear the INITIALIZING flag: " + e.getMessage());
    }
  }

  private void writeRegion(String version, boolean initializing) throws IOException {
    Files.createDirectories(sharedMemory.getParent());
    Path tmp =
        sharedMemory.resolveSibling(
            sharedMemory.getFileName() + ".tmp" + ProcessHandle.current().pid());
    Files.writeString(
        tmp, "version=" + version + "\ninitializing=" + (initializing ? 1 : 0) + "\n");
    Files.move(
        tmp,
        sharedMemory,
        java.nio.file.StandardCopyOption.REPLACE_EXISTING,
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
