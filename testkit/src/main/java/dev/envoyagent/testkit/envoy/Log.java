package dev.envoyagent.testkit.envoy;

import java.io.FileOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;

/**
 * Envoy-like log lines on stderr or in {@code --log-path}; {@link #reopen()} serves SIGUSR1 (log
 * rotation).
 */
final class Log {
  enum Level {
    TRACE,
    DEBUG,
    INFO,
    WARNING,
    ERROR,
    CRITICAL,
    OFF
  }

  private static final DateTimeFormatter TIME =
      DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss.SSS");
  private static final long PID = ProcessHandle.current().pid();

  private final String path;
  private final Level threshold;
  private PrintStream out;

  private Log(String path, Level threshold) {
    this.path = path;
    this.threshold = threshold;
    this.out = open(path);
  }

  static Log create(String path, String level) {
    String upper = level.toUpperCase(java.util.Locale.ROOT);
    return new Log(path, "WARN".equals(upper) ? Level.WARNING : Level.valueOf(upper));
  }

  synchronized void reopen() {
    if (path != null) {
      PrintStream old = out;
      out = open(path);
      old.close();
    }
  }

  void debug(String component, String message) {
    log(Level.DEBUG, component, message);
  }

  void info(String component, String message) {
    log(Level.INFO, component, message);
  }

  void warn(String component, String message) {
    log(Level.WARNING, component, message);
  }

  void error(String component, String message) {
    log(Level.ERROR, component, message);
  }

  void critical(String component, String message) {
    log(Level.CRITICAL, component, message);
  }

  synchronized void log(Level level, String component, String message) {
    if (level.ordinal() < threshold.ordinal()) {
      return;
    }
    String name =
        level == Level.WARNING ? "warning" : level.name().toLowerCase(java.util.Locale.ROOT);
    out.println(
        "["
            + TIME.format(LocalDateTime.now())
            + "]["
            + PID
            + "]["
            + name
            + "]["
            + component
            + "] "
            + message);
    out.flush();
  }

  private static PrintStream open(String path) {
    if (path == null) {
      return new PrintStream(new NonClosing(System.err), true, StandardCharsets.UTF_8);
    }
    try {
      return new PrintStream(new FileOutputStream(path, true), true, StandardCharsets.UTF_8);
    } catch (IOException e) {
      System.err.println("cannot open log file " + path + ": " + e.getMessage());
      return new PrintStream(new NonClosing(System.err), true, StandardCharsets.UTF_8);
    }
  }

  /** Keeps stderr open when a log stream wrapping it is closed. */
  private static final class NonClosing extends java.io.FilterOutputStream {
    NonClosing(OutputStream out) {
      super(out);
    }

    @Override
    public void write(byte[] b, int off, int len) throws IOException {
      out.write(b, off, len);
    }

    @Override
    public void close() throws IOException {
      flush();
    }
  }
}
