package dev.envoyagent.it;

import dev.envoyagent.api.v1.RouteSnapshot;
import dev.envoyagent.apply.ConfigWriter;
import dev.envoyagent.config.AgentSettings.NodeSettings;
import dev.envoyagent.config.Delivery;
import dev.envoyagent.model.RouteSnapshots;
import dev.envoyagent.render.EnvoyConfigRenderer;
import dev.envoyagent.render.RenderSettings;
import dev.envoyagent.testkit.SimulatorProcess;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Issue #13's "1,000 services, a quarter DNS-named, validate in about the same time as 1,000
 * IP-only services": the restart-shaped rendering the agent validates before every restart, run
 * through the simulator's {@code --mode validate} (as Envoy, it starts DNS lookups but never awaits
 * them) RUNS times each. Names resolve from a hosts file, so no lookup leaves the machine. Prints
 * every run and the medians; exits 1 when the DNS-named config takes more than 1.5 times as long
 * plus half a second.
 *
 * <pre>
 * mvn -B -q -pl agent -am package -DskipTests exec:exec@validate-bench [-Dvalidate.services=1000]
 * </pre>
 */
public final class ValidateBench {

  private ValidateBench() {}

  public static void main(String[] args) throws Exception {
    int services = args.length > 0 ? Integer.parseInt(args[0]) : 1000;
    int runs = args.length > 1 ? Integer.parseInt(args[1]) : 3;
    Path dir = Files.createTempDirectory("validate-bench");
    StringBuilder hosts = new StringBuilder();
    for (int i = 0; i < services; i++) {
      hosts.append("127.0.0.1 db-").append(i).append(".bench.test\n");
    }
    Path hostsFile = dir.resolve("hosts");
    Files.writeString(hostsFile, hosts);
    Map<String, String> env = Map.of("ENVOY_SIM_HOSTS_FILE", hostsFile.toString());
    long ipOnly = median(time(dir.resolve("ip"), snapshot(services, false), env, runs, "IP-only"));
    long dnsQuarter =
        median(
            time(dir.resolve("dns"), snapshot(services, true), env, runs, "a quarter DNS-named"));
    System.out.printf(
        "validate %d services, median of %d: IP-only %d ms, a quarter DNS-named %d ms (ratio %.2f)%n",
        services, runs, ipOnly, dnsQuarter, (double) dnsQuarter / ipOnly);
    System.exit(dnsQuarter <= ipOnly * 1.5 + 500 ? 0 : 1);
  }

  private static List<Long> time(
      Path dir, RouteSnapshot snapshot, Map<String, String> env, int runs, String what)
      throws Exception {
    RenderSettings settings =
        new RenderSettings(new NodeSettings("bench", "bench", ""), 9901, Delivery.RESTART, dir);
    new ConfigWriter(dir).write(EnvoyConfigRenderer.render(snapshot, settings).toFiles());
    List<Long> times = new ArrayList<>();
    for (int run = 0; run < runs; run++) {
      long t0 = System.nanoTime();
      SimulatorProcess.Result result =
          SimulatorProcess.run(
              List.of("--mode", "validate", "-c", dir.resolve("bootstrap.json").toString()),
              env,
              Duration.ofSeconds(120));
      long ms = (System.nanoTime() - t0) / 1_000_000;
      if (result.exitCode() != 0) {
        throw new IllegalStateException(what + ": validation failed: " + result.output());
      }
      System.out.printf("  %s run %d: %d ms%n", what, run + 1, ms);
      times.add(ms);
    }
    return times;
  }

  private static long median(List<Long> times) {
    List<Long> sorted = times.stream().sorted().toList();
    return sorted.get(sorted.size() / 2);
  }

  /**
   * HTTP services on loopback endpoints; with {@code dns}, every fourth one is TCP to a DNS name.
   */
  static RouteSnapshot snapshot(int services, boolean dns) throws Exception {
    StringBuilder yaml = new StringBuilder("version: \"1\"\nservices:\n");
    for (int i = 0; i < services; i++) {
      if (dns && i % 4 == 0) {
        yaml.append("  - {name: db-")
            .append(i)
            .append(", protocol: TCP, local_port: ")
            .append(20000 + i)
            .append(", endpoints: [{address: db-")
            .append(i)
            .append(".bench.test, port: 5432}]}\n");
      } else {
        yaml.append("  - {name: svc-")
            .append(i)
            .append(", protocol: HTTP, local_port: ")
            .append(20000 + i)
            .append(", endpoints: [");
        for (int e = 0; e < 10; e++) {
          yaml.append(e == 0 ? "" : ", ")
              .append("{address: 127.0.")
              .append(i / 250)
              .append('.')
              .append(1 + i % 250)
              .append(", port: ")
              .append(8000 + e)
              .append('}');
        }
        yaml.append("]}\n");
      }
    }
    return RouteSnapshots.parse(yaml.toString().getBytes(StandardCharsets.UTF_8));
  }
}
