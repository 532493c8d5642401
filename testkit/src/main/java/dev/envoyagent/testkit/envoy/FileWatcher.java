package dev.envoyagent.testkit.envoy;

import com.sun.jna.LastErrorException;
import com.sun.jna.Memory;
import java.io.Closeable;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executor;

/**
 * Reacts only to a file being renamed into place (inotify IN_MOVED_TO on its directory), as
 * Envoy's filesystem subscriptions do; in-place writes are ignored. inotify through JNA, because
 * the JDK's WatchService cannot tell a rename from a create.
 */
final class FileWatcher implements Closeable {
    private static final Libc C = Libc.INSTANCE;

    private final int fd;
    private final Executor dispatcher;
    private final Log log;
    private final Map<String, Integer> dirToWd = new HashMap<>();
    private final Map<Integer, String> wdToDir = new ConcurrentHashMap<>();
    private final Map<Path, List<Runnable>> callbacks = new ConcurrentHashMap<>();
    private final Thread thread;
    private volatile boolean closed;

    FileWatcher(Executor dispatcher, Log log) {
        this.fd = C.inotify_init1(Libc.IN_NONBLOCK | Libc.IN_CLOEXEC);
        this.dispatcher = dispatcher;
        this.log = log;
        this.thread = new Thread(this::loop, "file-watcher");
        thread.setDaemon(true);
        thread.start();
    }

    /** Calls {@code onRename} on the dispatcher each time something is renamed onto {@code file}. */
    Closeable watch(Path file, Runnable onRename) {
        Path abs = file.toAbsolutePath().normalize();
        return register(abs.getParent().toString(), abs, onRename);
    }

    /** Envoy's {@code watched_directory}: any rename into {@code dir} fires. */
    Closeable watchDirectory(Path dir, Runnable onRename) {
        Path abs = dir.toAbsolutePath().normalize();
        return register(abs.toString(), abs, onRename);
    }

    private synchronized Closeable register(String dir, Path abs, Runnable onRename) {
        if (!dirToWd.containsKey(dir)) {
            try {
                int wd = C.inotify_add_watch(fd, dir, Libc.IN_MOVED_TO);
                dirToWd.put(dir, wd);
                wdToDir.put(wd, dir);
            } catch (LastErrorException e) {
                log.warn("config", "cannot watch directory " + dir + ": errno " + e.getErrorCode());
            }
        }
        callbacks.computeIfAbsent(abs, k -> new CopyOnWriteArrayList<>()).add(onRename);
        return () -> {
            List<Runnable> list = callbacks.get(abs);
            if (list != null) {
                list.remove(onRename);
            }
        };
    }

    private void loop() {
        try (Memory pfd = new Memory(8); Memory buf = new Memory(64 * 1024)) {
            pfd.setInt(0, fd);
            pfd.setShort(4, Libc.POLLIN);
            while (!closed) {
                pfd.setShort(6, (short) 0);
                int ready;
                try {
                    ready = C.poll(pfd, 1, 200);
                } catch (LastErrorException e) {
                    continue; // EINTR
                }
                if (ready <= 0) {
                    continue;
                }
                long n;
                try {
                    n = C.read(fd, buf, buf.size());
                } catch (LastErrorException e) {
                    continue; // EAGAIN
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

    @Override
    public void close() {
        closed = true;
        try {
            thread.join(1000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        DomainSocket.closeQuietly(fd);
    }
}
