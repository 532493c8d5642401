package dev.envoyagent.testkit.envoy;

/**
 * Envoy's RELEASE_ASSERT (source/common/common/assert.h): log {@code assert failure: <condition>.
 * Details: <details>} at critical level, then abort. The process kills itself with SIGABRT, so its
 * exit status is 134.
 */
final class Abort {
  private Abort() {}

  static void releaseAssert(Log log, String location, String condition, String details) {
    log.critical(
        "assert", "[" + location + "] assert failure: " + condition + ". Details: " + details);
    log.critical("backtrace", "Caught Aborted, suspect faulting address 0x0");
    try {
      Libc.INSTANCE.kill(Libc.INSTANCE.getpid(), Libc.SIGABRT);
      Thread.sleep(2000);
    } catch (RuntimeException | InterruptedException e) {
      // fall through to halt
    }
    Runtime.getRuntime().halt(134);
  }
}
