package dev.envoyagent.it;

import static org.awaitility.Awaitility.await;

import dev.envoyagent.testkit.HttpBackend;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Plumbing shared by the control-plane, registration and observability ITs: cleanup of everything a
 * test started (in reverse order), one-shot HTTP requests through Envoy's listeners (a new
 * connection each, so no pooled connection keeps an old filter chain), and routes files.
 */
abstract class FleetItSupport extends ItResources {

  /** One HTTP/1.1 exchange on a new connection: status (-1 when it failed) and body. */
  record Reply(int status, String body) {
    boolean ok() {
      return status == 200;
    }
  }

  static Reply get(int port, String path) {
    try (Socket socket = new Socket()) {
      socket.connect(new InetSocketAddress("127.0.0.1", port), 1000);
      socket.setSoTimeout(3000);
      OutputStream out = socket.getOutputStream();
      out.write(
          ("GET " + path + " HTTP/1.1\r\nHost: it\r\nConnection: close\r\n\r\n")
              .getBytes(StandardCharsets.US_ASCII));
      out.flush();
      InputStream in = socket.getInputStream();
      String response = new String(in.readAllBytes(), StandardCharsets.UTF_8);
      int firstSpace = response.indexOf(' ');
      if (!response.startsWith("HTTP/1.1 ") || firstSpace < 0) {
        return new Reply(-1, "not HTTP: " + response);
      }
      int status = Integer.parseInt(response.substring(firstSpace + 1, firstSpace + 4));
      int bodyStart = response.indexOf("\r\n\r\n");
      return new Reply(status, bodyStart < 0 ? "" : response.substring(bodyStart + 4));
    } catch (IOException | RuntimeException e) {
      return new Reply(-1, e.toString());
    }
  }

  /**
   * {@code n} requests through a listener: how many each backend answered (by its body), failures
   * as "status N".
   */
  static Map<String, Integer> spread(int port, int n) {
    Map<String, Integer> counts = new TreeMap<>();
    for (int i = 0; i < n; i++) {
      Reply reply = get(port, "/");
      counts.merge(reply.ok() ? reply.body() : "status " + reply.status(), 1, Integer::sum);
    }
    return counts;
  }

  /**
   * An HTTP service {@code name} on {@code localPort} over loopback endpoints (none is allowed).
   */
  static String httpRoutes(String version, String name, int localPort, int... endpointPorts) {
    StringBuilder yaml = new StringBuilder("version: \"" + version + "\"\nservices:\n");
    yaml.append(httpService(name, localPort, endpointPorts));
    return yaml.toString();
  }

  static String httpService(String name, int localPort, int... endpointPorts) {
    StringBuilder yaml =
        new StringBuilder(
            "  - name: "
                + name
                + "\n    protocol: HTTP\n    local_port: "
                + localPort
                + "\n    endpoints:"
                + (endpointPorts.length == 0 ? " []" : "")
                + "\n");
    for (int port : endpointPorts) {
      yaml.append("      - {address: 127.0.0.1, port: ").append(port).append("}\n");
    }
    return yaml.toString();
  }

  /**
   * An agent and the control plane it takes its routes from; {@code web} listens on {@code
   * webPort}.
   */
  record HostOnControlPlane(ItControlPlane cp, ItAgent agent, int webPort) {}

  /**
   * Agent "host-1" on a control-plane process (heartbeats every 500 ms) that serves {@code web}, on
   * a free port, over {@code backend}; returns once the agent applied that version 1.
   */
  HostOnControlPlane hostServingWebFromControlPlane(String testName, HttpBackend backend)
      throws Exception {
    Path dir = ItAgent.testDir(testName);
    ItControlPlane cp = closeLater(ItControlPlane.process(dir, 500));
    ItAgent agent = closeLater(ItAgent.create(dir, "host-1"));
    int webPort = dev.envoyagent.testkit.Ports.free();
    cp.routes(httpRoutes("1", "web", webPort, backend.port()));
    cp.start();
    agent.controlPlaneAddresses = List.of(cp.address());
    agent.start();
    awaitApplied(agent, "1.", 60);
    return new HostOnControlPlane(cp, agent, webPort);
  }

  /**
   * Waits until the agent runs a version starting with {@code prefix} (control-plane versions carry
   * a hash).
   */
  static void awaitApplied(ItAgent agent, String prefix, int seconds) {
    await()
        .atMost(AgentHarness.scaled(seconds))
        .pollInterval(POLL)
        .failFast("agent exited", () -> !agent.alive())
        .until(
            () -> {
              var status = agent.status();
              return status != null
                  && "SERVING".equals(status.path("phase").asText())
                  && status.path("appliedVersion").asText().startsWith(prefix);
            });
  }

  static long msSince(long nanos) {
    return (System.nanoTime() - nanos) / 1_000_000;
  }
}
