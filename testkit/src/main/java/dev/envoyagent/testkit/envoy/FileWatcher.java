package dev.envoyagent.testkit.envoy;

import com.sun.jna.LastErrorException;
import com.sun.jna.Memory;
import java.io.Closeable;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executor;

/**
 * Envoy's file watching, one inotify instance per watcher as Filesystem::WatcherImpl
 * (source/common/filesystem/inotify/watcher_impl.cc): its constructor calls {@code inotify_init1}
 * and RELEASE_ASSERTs on failure, and every file subscription creates its own watcher
 * (FilesystemSubscriptionImpl, WatchedDirectory). So {@link #newInstance()} is one real inotify
 * instance (visible as an {@code anon_inode:inotify} fd), and failing to get one aborts the process
 * (exit status 134) with Envoy's assert message.
 *
 * <p>This object is the process's poll loop: one thread polls every instance's fd and hands
 * callbacks to the dispatcher. Only renames into a directory count ({@code IN_MOVED_TO}), as
 * Envoy's subscriptions ask for {@code Events::MovedTo}; in-place writes are ignored.
 *
 * <p>{@code ENVOY_SIM_INOTIFY_MAX_USER_INSTANCES=N} injects the kernel's per-user limit ({@code
 * fs.inotify.max_user_instances}): {@code inotify_init1} "fails" with EMFILE when the processes of
 * this uid already hold N or more inotify instances (counted in /proc/PID/fd).
 */
final class FileWatcher implements Closeable {
  static final String MAX_USER_INSTANCES_ENV = "ENVOY_SIM_INOTIFY_MAX_USER_INSTANCES";
  private static final Libc C = Libc.INSTANCE;
  private static final int EMFILE = 24;

  private final Executor dispatcher;
  private final Log log;
  private final Map<Integer, Instance> instances = new ConcurrentHashMap<>();
  private final Integer injectedLimit;
  private Thread thread;
  private volatile boolean closed;

  FileWatcher(Executor dispatcher, Log log) {
    this.dispatcher = dispatcher;
    this.log = log;
    String limit = System.getenv(MAX_USER_INSTANCES_ENV);
    this.injectedLimit = limit == null || limit.isBlank() ? null : Integer.valueOf(limit.trim());
  }

  Executor dispatcher() {
    return dispatcher;
  }

  /**
   * A new inotify instance: Filesystem::WatcherImpl's constructor. Aborts the process when none can
   * be had.
   */
  synchronized Instance newInstance() {
    int fd;
    try {
      fd = inotifyInit();
    } catch (LastErrorException e) {
      Abort.releaseAssert(
          log,
          "source/common/filesystem/inotify/watcher_impl.cc:23",
          "inotify_fd_ >= 0",
          "Consider increasing value of user.max_inotify_watches via sysctl");
      throw new IllegalStateException("unreachable");
    }
    Instance i = new Instance(fd);
    instances.put(fd, i);
    if (thread == null) {
      thread = new Thread(this::loop, "file-watcher");
      thread.setDaemon(true);
      thread.start();
    }
    return i;
  }

  private int inotifyInit() {
    if (injectedLimit != null && countUserInotifyInstances() >= injectedLimit) {
      throw new LastErrorException(EMFILE);
    }
    return C.inotify_init1(Libc.IN_NONBLOCK | Libc.IN_CLOEXEC);
  }

  /**
   * inotify instances held by processes of this uid, as the kernel counts them for
   * max_user_instances.
   */
  static int countUserInotifyInstances() {
    int uid = C.getuid();
    int count = 0;
    try (DirectoryStream<Path> procs =
        Files.newDirectoryStream(
            Path.of("/proc"),
            p -> p.getFileName().toString().chars().allMatch(Character::isDigit))) {
      for (Path proc : procs) {
        try {
          if (((Number) Files.getAttribute(proc, "unix:uid")).intValue() != uid) {
            continue;
          }
          try (DirectoryStream<Path> fds = Files.newDirectoryStream(proc.resolve("fd"))) {
            for (Path fd : fds) {
              try {
                if ("anon_inode:inotify".equals(Files.readSymbolicLink(fd).toString())) {
                  count++;
                }
              } catch (IOException | UnsupportedOperationException e) {
                // the fd closed meanwhile
              }
            }
          }
        } catch (IOException | RuntimeException e) {
          // unreadable or gone: skipped, as the brief of the limit says
        }
      }
    } catch (IOException e) {
      return 0;
    }
    return count;
  }

  /** One inotify instance and the watches added to it (Filesystem::WatcherImpl). */
  final class Instance implements Closeable {
    private final int fd;
    private final Map<Integer, String> wdToDir = new ConcurrentHashMap<>();
    private final Map<String, Integer> dirToWd = new ConcurrentHashMap<>();
    private final Map<Path, List<Runnable>> callbacks = new ConcurrentHashMap<>();
    private volatile boolean open = true;

    private Instance(int fd) {
      this.fd = fd;
    }

    /**
     * Calls {@code onRename} on the dispatcher each time something is renamed onto {@code file}.
     */
    void watch(Path file, Runnable onRename) throws ConfigException {
      Path abs = file.toAbsolutePath().normalize();
      register(abs.getParent().toString(), abs, onRename);
    }

    /** Envoy's {@code watched_directory}: any rename into {@code dir} fires. */
    void watchDirectory(Path dir, Runnable onRename) throws ConfigException {
      Path abs = dir.toAbsolutePath().normalize();
      register(abs.toString(), abs, onRename);
    }

    private synchronized void register(String dir, Path abs, Runnable onRename)
        throws ConfigException {
      if (!dirToWd.containsKey(dir)) {
        try {
          int wd = C.inotify_add_watch(fd, dir, Libc.IN_MOVED_TO);
          dirToWd.put(dir, wd);
          wdToDir.put(wd, dir);
        } catch (LastErrorException e) {
          throw new ConfigException(
              "unable to add filesystem watch for file " + abs + ": errno " + e.getErrorCode());
        }
      }
      callbacks.computeIfAbsent(abs, k -> new CopyOnWriteArrayList<>()).add(onRename);
    }

    private void onReadable(Memory buf) {
      while (open) {
        long n;
        try {
          n = C.read(fd, buf, buf.size());
        } catch (LastErrorException e) {
          return; // EAGAIN
        }
        if (n <= 0) {
          return;
        }
        for (long off = 0; off + 16 <= n; ) {
          int wd = buf.getInt(off);
          int len = buf.getInt(off + 12);
          byte[] raw = buf.getByteArray(off + 16, len);
          int end = 0;
          while (end < raw.length && raw[end] != 0) {
            end++;
          }
          String name = new String(raw, 0, end, StandardCharsets.UTF_8);
          String dir = wdToDir.get(wd);
          if (dir != null && !name.isEmpty()) {
            fire(Path.of(dir, name));
          }
          off += 16 + len;
        }
      }
    }

    private void fire(Path file) {
      for (Path key : new Path[] {file, file.getParent()}) {
        List<Runnable> list = callbacks.get(key);
        if (list != null) {
          for (Runnable r : list) {
            dispatcher.execute(r);
          }
        }
      }
    }

    int fd() {
      return fd;
    }

    /** Filesystem::WatcherImpl's destructor: the inotify fd is closed. */
    @Override
    public void close() {
      synchronized (FileWatcher.this) {
        if (!open) {
          return;
        }
        open = false;
        instances.remove(fd);
      }
      DomainSocket.closeQuietly(fd);
    }
  }

  private void loop() {
    try (Memory buf = new Memory(64 * 1024)) {
      while (!closed) {
        List<Instance> now = List.copyOf(instances.values());
        if (now.isEmpty()) {
          sleep();
          continue;
        }
        try (Memory pfds = new Memory(8L * now.size())) {
          for (int i = 0; i < now.size(); i++) {
            pfds.setInt(8L * i, now.get(i).fd);
            pfds.setShort(8L * i + 4, Libc.POLLIN);
            pfds.setShort(8L * i + 6, (short) 0);
          }
          int ready;
          try {
            ready = C.poll(pfds, now.size(), 200);
          } catch (LastErrorException e) {
            continue; // EINTR, or an fd closed meanwhile
          }
          if (ready <= 0) {
            continue;
          }
          for (int i = 0; i < now.size(); i++) {
            if ((pfds.getShort(8L * i + 6) & Libc.POLLIN) != 0) {
              now.get(i).onReadable(buf);
            }
          }
        }
      }
    }
  }

  private static void sleep() {
    try {
      Thread.sleep(200);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  @Override
  public void close() {
    closed = true;
    if (thread != null) {
      try {
        thread.join(1000);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
    List.copyOf(instances.values()).forEach(Instance::close);
  }
}
