package dev.envoyagent.testkit;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.concurrent.atomic.AtomicLong;

/** An upstream for TCP proxy tests: echoes every byte back and half-closes when the peer does. */
public final class TcpEchoBackend implements AutoCloseable {
  private final ServerSocket server;
  private final AtomicLong connections = new AtomicLong();

  private TcpEchoBackend(ServerSocket server) {
    this.server = server;
  }

  public static TcpEchoBackend start() throws IOException {
    TcpEchoBackend b =
        new TcpEchoBackend(new ServerSocket(0, 512, InetAddress.getLoopbackAddress()));
    Thread t = new Thread(b::acceptLoop, "echo-backend");
    t.setDaemon(true);
    t.start();
    return b;
  }

  public int port() {
    return server.getLocalPort();
  }

  public long connections() {
    return connections.get();
  }

  private void acceptLoop() {
    while (!server.isClosed()) {
      try {
        Socket s = server.accept();
        connections.incrementAndGet();
        Thread t = new Thread(() -> echo(s), "echo");
        t.setDaemon(true);
        t.start();
      } catch (IOException e) {
        return;
      }
    }
  }

  private static void echo(Socket s) {
    try (s) {
      InputStream in = s.getInputStream();
      OutputStream out = s.getOutputStream();
      byte[] buf = new byte[8192];
      int n;
      while ((n = in.read(buf)) >= 0) {
        out.write(buf, 0, n);
        out.flush();
      }
      s.shutdownOutput();
    } catch (IOException ignored) {
      // the peer went away
    }
  }

  @Override
  public void close() throws IOException {
    server.close();
  }
}
