package dev.envoyagent.routesfile;

import java.io.Closeable;
import java.io.IOException;
import java.nio.file.ClosedWatchServiceException;
import java.nio.file.FileSystems;
import java.nio.file.Path;
import java.nio.file.StandardWatchEventKinds;
import java.nio.file.WatchEvent;
import java.nio.file.WatchKey;
import java.nio.file.WatchService;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Tells when a file's directory saw a change to that file name (inotify on Linux), so an edit is
 * picked up in milliseconds instead of at the next poll. Only a hint: events can be lost or
 * coalesced, so the caller keeps polling and treats {@code onChange} as "poll now".
 */
public final class FileChangeHint implements Closeable {

  private static final Logger LOG = LoggerFactory.getLogger(FileChangeHint.class);

  private final WatchService watcher;
  private final Thread thread;

  private FileChangeHint(WatchService watcher, Path fileName, Runnable onChange) {
    this.watcher = watcher;
    this.thread = new Thread(() -> loop(fileName, onChange), "file-change-hint");
    thread.setDaemon(true);
  }

  /**
   * Starts watching; if the directory cannot be watched, polling alone will do and this says so
   * once.
   */
  public static FileChangeHint start(Path file, Runnable onChange) {
    Path absolute = file.toAbsolutePath().normalize();
    WatchService watcher = null;
    try {
      watcher = FileSystems.getDefault().newWatchService();
      absolute
          .getParent()
          .register(
              watcher,
              StandardWatchEventKinds.ENTRY_CREATE,
              StandardWatchEventKinds.ENTRY_MODIFY,
              StandardWatchEventKinds.OVERFLOW);
    } catch (IOException | RuntimeException e) {
      LOG.info(
          "cannot watch directory={} reason={}; polling only", absolute.getParent(), e.toString());
    }
    FileChangeHint hint = new FileChangeHint(watcher, absolute.getFileName(), onChange);
    if (watcher != null) {
      hint.thread.start();
    }
    return hint;
  }

  private void loop(Path fileName, Runnable onChange) {
    try {
      while (true) {
        WatchKey key = watcher.take();
        boolean relevant = false;
        for (WatchEvent<?> event : key.pollEvents()) {
          // OVERFLOW has no context: something may have been missed, so poll anyway.
          relevant |= event.context() == null || fileName.equals(event.context());
        }
        if (relevant) {
          try {
            onChange.run();
          } catch (RuntimeException e) {
            LOG.debug(
                "file change hint dropped reason={}", e.toString()); // e.g. the agent is stopping
          }
        }
        if (!key.reset()) {
          return; // the directory went away; polling carries on
        }
      }
    } catch (InterruptedException | ClosedWatchServiceException e) {
      // closed: done
    }
  }

  @Override
  public void close() throws IOException {
    if (watcher != null) {
      watcher.close();
    }
  }
}
