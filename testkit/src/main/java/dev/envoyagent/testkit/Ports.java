package dev.envoyagent.testkit;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Free loopback ports for tests (there is a small window before the port is used: tests accept it).
 * A port is handed out once per JVM: the kernel may offer a port again as soon as the probe closes,
 * and a test that asked twice (say, for Envoy's admin and a listener) must get two ports.
 */
public final class Ports {
  private static final Set<Integer> HANDED_OUT = ConcurrentHashMap.newKeySet();

  private Ports() {}

  public static int free() {
    for (int attempt = 0; attempt < 100; attempt++) {
      int port = probe();
      if (HANDED_OUT.add(port)) {
        return port;
      }
    }
    throw new IllegalStateException(
        "no loopback port that was not handed out before, after 100 tries");
  }

  private static int probe() {
    try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      s.setReuseAddress(true);
      return s.getLocalPort();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
