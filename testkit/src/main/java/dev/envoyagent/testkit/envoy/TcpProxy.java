package dev.envoyagent.testkit.envoy;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.util.function.Supplier;

/**
 * The tcp_proxy network filter: connects to a host of the cluster (up to {@code
 * max_connect_attempts}) and copies bytes both ways, passing half-closes on.
 */
final class TcpProxy implements NetworkHandler {
  private final String statPrefix;
  private final Supplier<String> clusterName;
  private final int maxConnectAttempts;
  private final ClusterManager clusters;
  private final Stats stats;

  TcpProxy(
      String statPrefix,
      Supplier<String> clusterName,
      int maxConnectAttempts,
      ClusterManager clusters,
      Stats stats) {
    this.statPrefix = "tcp." + statPrefix + ".";
    this.clusterName = clusterName;
    this.maxConnectAttempts = Math.max(1, maxConnectAttempts);
    this.clusters = clusters;
    this.stats = stats;
    stats.declare(this.statPrefix, "downstream_cx_total", "downstream_cx_no_route");
  }

  @Override
  public void handle(DownstreamConnection c) throws IOException {
    stats.inc(statPrefix + "downstream_cx_total");
    UpstreamCluster cluster = clusters.get(clusterName.get());
    if (cluster == null) {
      stats.inc(statPrefix + "downstream_cx_no_route");
      return; // Envoy closes the downstream connection when the cluster is unknown
    }
    Socket upstream = connect(cluster);
    if (upstream == null) {
      return;
    }
    try (upstream) {
      Thread back =
          new Thread(
              () -> pump(upstream, c.socket, "upstream_cx_rx_bytes_total", cluster),
              "tcp-back-" + cluster.name);
      back.setDaemon(true);
      back.start();
      pump(c.socket, upstream, "upstream_cx_tx_bytes_total", cluster);
      back.join();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  private Socket connect(UpstreamCluster cluster) {
    String cp = cluster.statPrefix();
    for (int attempt = 0; attempt < maxConnectAttempts; attempt++) {
      Host host = cluster.choose();
      if (host == null) {
        stats.inc(cp + "upstream_cx_none_healthy");
        return null;
      }
      Socket s = new Socket();
      try {
        s.connect(host.address, (int) Math.max(1, cluster.connectTimeoutMs));
        s.setTcpNoDelay(true);
        stats.inc(cp + "upstream_cx_total");
        host.cxTotal.incrementAndGet();
        return s;
      } catch (IOException e) {
        closeQuietly(s);
        stats.inc(cp + "upstream_cx_connect_fail");
        host.cxConnectFail.incrementAndGet();
      }
    }
    stats.inc(statPrefix + "upstream_flush_total");
    return null;
  }

  private void pump(Socket from, Socket to, String stat, UpstreamCluster cluster) {
    byte[] buf = new byte[16 * 1024];
    try {
      InputStream in = from.getInputStream();
      OutputStream out = to.getOutputStream();
      int n;
      while ((n = in.read(buf)) >= 0) {
        out.write(buf, 0, n);
        out.flush();
        stats.counter(cluster.statPrefix() + stat).addAndGet(n);
      }
      to.shutdownOutput(); // pass the half-close on
    } catch (IOException e) {
      closeQuietly(from);
      closeQuietly(to);
    }
  }

  private static void closeQuietly(Socket s) {
    try {
      s.close();
    } catch (IOException ignored) {
      // best effort
    }
  }
}
