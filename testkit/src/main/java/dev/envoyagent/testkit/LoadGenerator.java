package dev.envoyagent.testkit;

import java.io.BufferedInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Steady load through a proxy, counting every outcome strictly: HTTP/1.1 keep-alive clients (a
 * request is good only with a complete 200 response; {@code Connection: close} is honoured by
 * reconnecting) and TCP clients (connect, send a random payload, half-close, expect the same bytes
 * back). A refused, reset or short connection is a failure.
 */
public final class LoadGenerator implements AutoCloseable {
  /** What to generate. Ports of 0 disable that kind of load. */
  public record Settings(
      int httpPort, String httpPath, int httpClients, int tcpPort, int tcpClients, long pauseMs) {}

  /** Totals and up to 20 failure descriptions. */
  public record Result(
      long httpOk,
      long httpFailed,
      long httpConnections,
      long tcpOk,
      long tcpFailed,
      List<String> failureSamples) {
    public long failures() {
      return httpFailed + tcpFailed;
    }
  }

  private final Settings settings;
  private final List<Thread> threads = new ArrayList<>();
  private final AtomicLong httpOk = new AtomicLong();
  private final AtomicLong httpFailed = new AtomicLong();
  private final AtomicLong httpConnections = new AtomicLong();
  private final AtomicLong tcpOk = new AtomicLong();
  private final AtomicLong tcpFailed = new AtomicLong();
  private final ConcurrentLinkedQueue<String> samples = new ConcurrentLinkedQueue<>();
  private volatile boolean running = true;

  private LoadGenerator(Settings settings) {
    this.settings = settings;
  }

  public static LoadGenerator start(Settings settings) {
    LoadGenerator g = new LoadGenerator(settings);
    if (settings.httpPort() > 0) {
      for (int i = 0; i < settings.httpClients(); i++) {
        g.spawn("load-http-" + i, g::httpLoop);
      }
    }
    if (settings.tcpPort() > 0) {
      for (int i = 0; i < settings.tcpClients(); i++) {
        g.spawn("load-tcp-" + i, g::tcpLoop);
      }
    }
    return g;
  }

  private void spawn(String name, Runnable r) {
    Thread t = new Thread(r, name);
    t.setDaemon(true);
    threads.add(t);
    t.start();
  }

  /** Totals so far. */
  public Result snapshot() {
    return new Result(
        httpOk.get(),
        httpFailed.get(),
        httpConnections.get(),
        tcpOk.get(),
        tcpFailed.get(),
        List.copyOf(samples));
  }

  /** Stops after the requests in flight and returns the totals. */
  public Result stop() {
    running = false;
    for (Thread t : threads) {
      try {
        t.join(30_000);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
    return snapshot();
  }

  @Override
  public void close() {
    if (running) {
      stop();
    }
  }

  private void fail(AtomicLong counter, String what) {
    counter.incrementAndGet();
    if (samples.size() < 20) {
      samples.add(System.currentTimeMillis() + " " + what);
    }
  }

  private void httpLoop() {
    Socket socket = null;
    InputStream in = null;
    OutputStream out = null;
    byte[] request =
        ("GET "
                + settings.httpPath()
                + " HTTP/1.1\r\nHost: load\r\nUser-Agent: testkit-load\r\n\r\n")
            .getBytes(StandardCharsets.ISO_8859_1);
    while (running) {
      boolean reused = socket != null;
      try {
        if (socket == null) {
          socket = new Socket();
          socket.connect(new InetSocketAddress("127.0.0.1", settings.httpPort()), 5000);
          socket.setSoTimeout(20_000);
          socket.setTcpNoDelay(true);
          in = new BufferedInputStream(socket.getInputStream());
          out = socket.getOutputStream();
          httpConnections.incrementAndGet();
        }
        out.write(request);
        out.flush();
        boolean close = readResponse(in);
        httpOk.incrementAndGet();
        if (close) {
          socket.close();
          socket = null;
        }
      } catch (IOException | RuntimeException e) {
        fail(httpFailed, "http " + (reused ? "(kept-alive connection) " : "(new connection) ") + e);
        closeQuietly(socket);
        socket = null;
      }
      pause();
    }
    closeQuietly(socket);
  }

  /**
   * Reads one response; true when the server asked to close. Throws unless it is a complete 200.
   */
  private static boolean readResponse(InputStream in) throws IOException {
    String status = line(in);
    boolean close = false;
    long length = -1;
    String h;
    while (!(h = line(in)).isEmpty()) {
      String lower = h.toLowerCase(Locale.ROOT);
      if (lower.startsWith("content-length:")) {
        length = Long.parseLong(lower.substring(15).trim());
      } else if (lower.startsWith("connection:") && lower.contains("close")) {
        close = true;
      }
    }
    if (length < 0) {
      throw new IOException("response without content-length: " + status);
    }
    byte[] body = in.readNBytes((int) length);
    if (body.length != length) {
      throw new EOFException("short body");
    }
    if (!status.startsWith("HTTP/1.1 200")) {
      throw new IOException(
          "status " + status + " body " + new String(body, StandardCharsets.UTF_8));
    }
    return close;
  }

  private static String line(InputStream in) throws IOException {
    StringBuilder sb = new StringBuilder();
    int c;
    while ((c = in.read()) != '\n') {
      if (c < 0) {
        throw new EOFException(
            sb.length() == 0 ? "connection closed before a response" : "truncated response");
      }
      if (c != '\r') {
        sb.append((char) c);
      }
    }
    return sb.toString();
  }

  private void tcpLoop() {
    byte[] payload = new byte[256];
    while (running) {
      ThreadLocalRandom.current().nextBytes(payload);
      try (Socket s = new Socket()) {
        s.connect(new InetSocketAddress("127.0.0.1", settings.tcpPort()), 5000);
        s.setSoTimeout(20_000);
        s.getOutputStream().write(payload);
        s.getOutputStream().flush();
        s.shutdownOutput();
        byte[] back = s.getInputStream().readAllBytes();
        if (Arrays.equals(back, payload)) {
          tcpOk.incrementAndGet();
        } else {
          fail(
              tcpFailed,
              "tcp: echoed " + back.length + " of " + payload.length + " bytes or different bytes");
        }
      } catch (IOException | RuntimeException e) {
        fail(tcpFailed, "tcp " + e);
      }
      pause();
    }
  }

  private void pause() {
    if (settings.pauseMs() > 0) {
      try {
        Thread.sleep(settings.pauseMs());
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        running = false;
      }
    }
  }

  private static void closeQuietly(Socket s) {
    if (s != null) {
      try {
        s.close();
      } catch (IOException ignored) {
        // best effort
      }
    }
  }
}
