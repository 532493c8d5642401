package dev.envoyagent.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.sun.net.httpserver.HttpServer;
import dev.envoyagent.cli.CliRun.Result;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class StatusCommandTest {

  HttpServer server;

  @AfterEach
  void stop() {
    if (server != null) {
      server.stop(0);
    }
  }

  String serve(String statusJson) throws IOException {
    server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    server.createContext(
        "/status",
        exchange -> {
          byte[] body = statusJson.getBytes(StandardCharsets.UTF_8);
          exchange.sendResponseHeaders(200, body.length);
          exchange.getResponseBody().write(body);
          exchange.close();
        });
    server.start();
    return "127.0.0.1:" + server.getAddress().getPort();
  }

  static Result status(String... args) {
    String[] all = new String[args.length + 1];
    all[0] = "status";
    System.arraycopy(args, 0, all, 1, args.length);
    return CliRun.run(all);
  }

  static String view(boolean ready, String extra, String statusExtra) {
    return """
        {"agent_version": "1.2.3", "uptime_s": 300, "ready": %s, "not_ready_reason": "Envoy is not serving",
         "healthy_loops": true, %s
         "status": {"phase": "SERVING", "epochs": [{"epoch": 2, "pid": 4242}], "appliedVersion": "41",
                    "newestVersion": "41", "appliedCount": 3, "hotRestarts": 1, "coldRestarts": 0,
                    "failedRestarts": 0, "envoyCrashes": 0, "lastError": "", "lastRejected": "",
                    "sourceError": "", "controlPlaneTarget": "cp:18000", "controlPlaneConnected": true %s}}
        """
        .formatted(ready, extra, statusExtra);
  }

  @Test
  void aHealthyAgentExitsZeroWithAFewAlignedLines() throws Exception {
    String admin = serve(view(true, "\"control_plane\": {\"tls\": true},", ""));
    Result result = status("--admin", admin);
    assertThat(result.exitCode()).isZero();
    assertThat(result.out())
        .contains("envoy-agent    1.2.3  up 5m  HEALTHY")
        .contains("envoy          SERVING  epoch 2 pid 4242")
        .contains("control plane  cp:18000  connected")
        .contains("restarts       hot 1  cold 0  failed 0  crashes 0");
    assertThat(result.out().lines().count()).isLessThanOrEqualTo(8);
  }

  @Test
  void aRefusedConfigOrALostControlPlaneIsDegraded() throws Exception {
    String admin =
        serve(
            view(
                true,
                "\"control_plane\": {\"tls\": true},",
                ", \"controlPlaneConnected\": false, \"newestVersion\": \"42\", \"lastRejected\": \"42\""));
    Result result = status("--admin", admin);
    assertThat(result.exitCode()).isEqualTo(1);
    assertThat(result.out())
        .contains("DEGRADED")
        .contains("problem        newest routes 42 were refused")
        .contains("problem        control plane unreachable");
  }

  @Test
  void notReadyIsDegradedAndJsonIsPassedThrough() throws Exception {
    String admin = serve(view(false, "", ""));
    Result result = status("--admin", admin, "--json");
    assertThat(result.exitCode()).isEqualTo(1);
    assertThat(result.out()).contains("\"agent_version\" : \"1.2.3\"");
  }

  @Test
  void anUnreachableAgentExitsTwo() throws Exception {
    int port;
    try (ServerSocket socket = new ServerSocket(0)) {
      port = socket.getLocalPort();
    }
    Result result = status("--admin", "127.0.0.1:" + port);
    assertThat(result.exitCode()).isEqualTo(2);
    assertThat(result.out()).startsWith("UNREACHABLE  envoy-agent admin at 127.0.0.1:" + port);
  }
}
