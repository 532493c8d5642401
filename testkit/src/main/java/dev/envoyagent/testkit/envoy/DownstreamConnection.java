package dev.envoyagent.testkit.envoy;

import java.io.IOException;
import java.net.Socket;

/** One accepted connection; "idle" means between HTTP requests, so a drain may close it safely. */
final class DownstreamConnection {
  final Socket socket;
  final ActiveListener listener;
  private volatile boolean idle;
  private volatile boolean closed;

  DownstreamConnection(Socket socket, ActiveListener listener) {
    this.socket = socket;
    this.listener = listener;
  }

  void idle(boolean value) {
    idle = value;
  }

  boolean idle() {
    return idle;
  }

  boolean closed() {
    return closed;
  }

  void close() {
    closed = true;
    try {
      socket.close();
    } catch (IOException ignored) {
      // closing is best effort
    }
  }
}
