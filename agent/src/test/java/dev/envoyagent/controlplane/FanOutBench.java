package dev.envoyagent.controlplane;

import dev.envoyagent.api.v1.Node;
import dev.envoyagent.api.v1.RouteResponse;
import dev.envoyagent.config.AgentSettings.ListenAddress;
import dev.envoyagent.source.ControlPlaneClient;
import dev.envoyagent.support.Backoff;
import dev.envoyagent.support.ChannelFactory;
import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.Random;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The fan-out target: one reference control plane (its own JVM, so its heap is measured
 * alone) and N simulated agents in this JVM, each the real {@link ControlPlaneClient} with its own
 * channel, ACKing every snapshot; no Envoy. Each round rewrites the routes file and measures, per
 * agent, the time from the write until its client hands the new snapshot on. Target: p99 ≤ 2 s.
 *
 * <pre>
 * mvn -B -q -pl agent -am test-compile dependency:build-classpath -Dmdep.includeScope=test \
 *     -Dmdep.outputFile=target/bench.cp
 * java -cp agent/target/test-classes:agent/target/classes:$(cat agent/target/bench.cp) \
 *     dev.envoyagent.controlplane.FanOutBench [agents=500] [rounds=10] [services=50]
 * </pre>
 *
 * Exit code 0 when p99 ≤ 2 s, 1 otherwise.
 */
public final class FanOutBench {

  private static final Pattern ROUND = Pattern.compile("b(\\d+)\\..*");
  private static final long TARGET_P99_MS = 2000;

  private FanOutBench() {}

  public static void main(String[] args) throws Exception {
    int agents = args.length > 0 ? Integer.parseInt(args[0]) : 500;
    int rounds = args.length > 1 ? Integer.parseInt(args[1]) : 10;
    int services = args.length > 2 ? Integer.parseInt(args[2]) : 50;
    Path dir = Files.createTempDirectory("fanout-bench");
    Path routes = dir.resolve("routes.yaml");
    writeRoutes(dir, routes, 0, services);
    int grpcPort = freePort();
    int httpPort = freePort();
    Process controlPlane = startControlPlane(dir, routes, grpcPort, httpPort);
    List<ControlPlaneClient> clients = new ArrayList<>();
    List<ScheduledExecutorService> executors = new ArrayList<>();
    try {
      awaitHttp(httpPort, controlPlane);
      // received[r][i]: nanoTime at which agent i was handed round r's snapshot (0 = not yet).
      AtomicLongArray[] received = new AtomicLongArray[rounds + 1];
      CountDownLatch[] done = new CountDownLatch[rounds + 1];
      for (int r = 0; r <= rounds; r++) {
        received[r] = new AtomicLongArray(agents);
        done[r] = new CountDownLatch(agents);
      }
      // A few shared single-thread executors: the client runs all its state on one thread, and
      // 500 threads would measure the scheduler of this 2-core machine, not the fan-out.
      for (int e = 0; e < 4; e++) {
        executors.add(Executors.newSingleThreadScheduledExecutor());
      }
      long connectStart = System.nanoTime();
      for (int i = 0; i < agents; i++) {
        clients.add(client(i, grpcPort, executors.get(i % executors.size()), received, done));
      }
      clients.forEach(ControlPlaneClient::start);
      await(done[0], Duration.ofSeconds(120), "initial snapshot");
      System.out.printf(
          "connected agents=%d in_ms=%d%n", agents, (System.nanoTime() - connectStart) / 1_000_000);

      long[] latenciesMs = new long[agents * rounds];
      int n = 0;
      for (int r = 1; r <= rounds; r++) {
        long start = System.nanoTime();
        writeRoutes(dir, routes, r, services);
        await(done[r], Duration.ofSeconds(60), "round " + r);
        long roundMax = 0;
        for (int i = 0; i < agents; i++) {
          long ms = (received[r].get(i) - start) / 1_000_000;
          latenciesMs[n++] = ms;
          roundMax = Math.max(roundMax, ms);
        }
        System.out.printf("round=%d all_agents_ms=%d%n", r, roundMax);
        // Rounds apart, so each measures one change, not a pile-up (the poller reads once a
        // second).
        Thread.sleep(1500);
      }
      Arrays.sort(latenciesMs);
      long p50 = latenciesMs[latenciesMs.length / 2];
      long p99 = latenciesMs[(int) Math.ceil(latenciesMs.length * 0.99) - 1];
      long max = latenciesMs[latenciesMs.length - 1];
      String heap = heapAfterGc(controlPlane.pid());
      String rss = rss(controlPlane.pid());
      System.out.printf(
          "agents=%d rounds=%d services=%d propagation_ms p50=%d p99=%d max=%d target_p99=%d%n",
          agents, rounds, services, p50, p99, max, TARGET_P99_MS);
      System.out.printf(
          "control_plane heap_after_gc=%s rss=%s (log: %s)%n", heap, rss, dir.resolve("cp.log"));
      System.exit(p99 <= TARGET_P99_MS ? 0 : 1);
    } finally {
      clients.forEach(ControlPlaneClient::close);
      executors.forEach(ScheduledExecutorService::shutdown);
      controlPlane.destroy();
      controlPlane.waitFor(10, TimeUnit.SECONDS);
    }
  }

  private static ControlPlaneClient client(
      int index,
      int port,
      ScheduledExecutorService executor,
      AtomicLongArray[] received,
      CountDownLatch[] done) {
    Node node =
        Node.newBuilder()
            .setId("sim-" + index)
            .setCluster("bench")
            .setZone("us-east-1a")
            .setAddress("10.1." + (index / 250) + "." + (index % 250 + 1))
            .build();
    ControlPlaneClient[] self = new ControlPlaneClient[1];
    ControlPlaneClient.Handler handler =
        new ControlPlaneClient.Handler() {
          @Override
          public void onSnapshot(RouteResponse response) {
            long now = System.nanoTime();
            String version = response.getSnapshot().getVersion();
            Matcher round = ROUND.matcher(version);
            if (round.matches()) {
              int r = Integer.parseInt(round.group(1));
              if (r < received.length && received[r].compareAndSet(index, 0, now)) {
                done[r].countDown();
              }
            }
            self[0].ack(response.getNonce(), version);
          }
        };
    self[0] =
        new ControlPlaneClient(
            List.of(new ListenAddress("127.0.0.1", port)),
            new ChannelFactory(Optional.empty(), Duration.ofSeconds(5)),
            node,
            new Backoff(Duration.ofMillis(200), Duration.ofSeconds(5), 0.5),
            Duration.ofSeconds(2),
            executor,
            new Random(index),
            handler);
    return self[0];
  }

  /**
   * Written whole and renamed into place, as config management does: the poller never sees half a
   * file.
   */
  private static void writeRoutes(Path dir, Path routes, int round, int services)
      throws IOException {
    StringBuilder yaml = new StringBuilder("version: \"b" + round + "\"\nservices:\n");
    for (int s = 0; s < services; s++) {
      yaml.append("  - name: svc-")
          .append(s)
          .append("\n    protocol: HTTP\n    local_port: ")
          .append(20000 + s)
          .append("\n    endpoints:\n");
      for (int e = 0; e < 4; e++) {
        yaml.append("      - { address: \"10.2.")
            .append(s)
            .append('.')
            .append(e + 1)
            .append("\", port: ")
            .append(8080 + round)
            .append(" }\n");
      }
    }
    Path temp = dir.resolve("routes.yaml.tmp");
    Files.writeString(temp, yaml);
    Files.move(temp, routes, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
  }

  private static Process startControlPlane(Path dir, Path routes, int grpcPort, int httpPort)
      throws IOException {
    String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    return new ProcessBuilder(
            java,
            "-Xmx512m",
            "-cp",
            System.getProperty("java.class.path"),
            "dev.envoyagent.cli.Main",
            "control-plane",
            "--routes",
            routes.toString(),
            "--plaintext",
            "--listen",
            "127.0.0.1:" + grpcPort,
            "--http",
            "127.0.0.1:" + httpPort)
        .redirectErrorStream(true)
        .redirectOutput(dir.resolve("cp.log").toFile())
        .start();
  }

  private static void awaitHttp(int port, Process controlPlane) throws Exception {
    HttpClient http = HttpClient.newHttpClient();
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    while (System.nanoTime() < deadline) {
      if (!controlPlane.isAlive()) {
        throw new IllegalStateException("control plane exited " + controlPlane.exitValue());
      }
      try {
        http.send(
            HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/fleet")).build(),
            HttpResponse.BodyHandlers.discarding());
        return;
      } catch (IOException notYet) {
        Thread.sleep(200);
      }
    }
    throw new IllegalStateException("control plane did not start within 60 s");
  }

  private static void await(CountDownLatch latch, Duration timeout, String what)
      throws InterruptedException {
    if (!latch.await(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
      throw new IllegalStateException(
          what + ": " + latch.getCount() + " agents still waiting after " + timeout);
    }
  }

  private static int freePort() throws IOException {
    try (ServerSocket socket = new ServerSocket(0)) {
      return socket.getLocalPort();
    }
  }

  /** The control plane's used heap after a full GC, from jcmd (the JDK's own tool, beside java). */
  private static String heapAfterGc(long pid) throws Exception {
    String jcmd = Path.of(System.getProperty("java.home"), "bin", "jcmd").toString();
    run(jcmd, Long.toString(pid), "GC.run");
    String info = run(jcmd, Long.toString(pid), "GC.heap_info");
    Matcher used = Pattern.compile("total (\\d+)K, used (\\d+)K").matcher(info);
    return used.find()
        ? (Long.parseLong(used.group(2)) / 1024)
            + " MB (committed "
            + Long.parseLong(used.group(1)) / 1024
            + " MB)"
        : "unknown: " + info.strip();
  }

  private static String rss(long pid) throws IOException {
    for (String line : Files.readAllLines(Path.of("/proc", Long.toString(pid), "status"))) {
      if (line.startsWith("VmRSS:")) {
        return line.substring(6).strip();
      }
    }
    return "unknown";
  }

  private static String run(String... command) throws Exception {
    Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
    String out = new String(process.getInputStream().readAllBytes());
    process.waitFor(30, TimeUnit.SECONDS);
    return out;
  }
}
