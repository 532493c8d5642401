package dev.envoyagent.testkit.envoy;

/**
 * Envoy's {@code PANIC(msg)} (source/common/common/assert.h: "panic: msg" at critical level, then
 * {@code abort()}) and the crash a fault asks for. The process kills itself with SIGABRT, so its
 * exit status is 134. Failed RELEASE_ASSERTs go through {@link Abort}.
 */
final class Crash {
  private Crash() {}

  static void panic(Log log, String location, String message) {
    log.critical("assert", "[" + location + "] panic: " + message);
    abort(log, message);
  }

  /** Kills the process with SIGABRT, as {@code abort()} does; never returns. */
  static void abort(Log log, String why) {
    log.critical("backtrace", "Caught Aborted, suspect faulting address 0x0 (" + why + ")");
    try {
      Libc.INSTANCE.kill(Libc.INSTANCE.getpid(), Libc.SIGABRT);
      Thread.sleep(2000);
    } catch (RuntimeException | InterruptedException e) {
      // fall through to halt
    }
    Runtime.getRuntime().halt(134);
  }
}
