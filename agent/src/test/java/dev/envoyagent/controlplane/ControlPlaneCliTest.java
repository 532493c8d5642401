package dev.envoyagent.controlplane;

import static dev.envoyagent.cli.CliRun.run;
import static org.assertj.core.api.Assertions.assertThat;

import dev.envoyagent.api.v1.HeartbeatGrpc;
import dev.envoyagent.api.v1.HeartbeatRequest;
import dev.envoyagent.api.v1.HostState;
import dev.envoyagent.api.v1.Node;
import dev.envoyagent.cli.CliRun.Result;
import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code control-plane} refusals (the server itself is ControlPlaneServerTest's) and {@code fleet}.
 */
class ControlPlaneCliTest {

  @TempDir Path dir;

  private Path routes(String version) throws Exception {
    return Files.writeString(
        dir.resolve("routes.yaml"), ControlPlaneServerTest.ROUTES.formatted(version));
  }

  @Test
  void neitherTlsNorPlaintextIsAUsageError() throws Exception {
    Result result = run("control-plane", "--routes", routes("1").toString());
    assertThat(result.exitCode()).isEqualTo(2);
    assertThat(result.err())
        .contains(
            "give --tls-cert and --tls-key (and --tls-client-ca for mutual TLS), or --plaintext");
  }

  @Test
  void plaintextWithTlsOrHalfATlsPairIsAUsageError() throws Exception {
    assertThat(
            run(
                    "control-plane",
                    "--routes",
                    routes("1").toString(),
                    "--plaintext",
                    "--tls-cert",
                    "c")
                .exitCode())
        .isEqualTo(2);
    Result half = run("control-plane", "--routes", routes("1").toString(), "--tls-cert", "c");
    assertThat(half.exitCode()).isEqualTo(2);
    assertThat(half.err()).contains("TLS needs both --tls-cert and --tls-key");
    assertThat(
            run(
                    "control-plane",
                    "--routes",
                    routes("1").toString(),
                    "--plaintext",
                    "--listen",
                    "nope")
                .exitCode())
        .isEqualTo(2);
  }

  @Test
  void routesThatDoNotValidateExitOneWithEveryProblem() throws Exception {
    Path bad =
        Files.writeString(
            dir.resolve("bad.yaml"),
            ControlPlaneServerTest.ROUTES
                .formatted("1")
                .replace("9002", "80")
                .replace("HTTP", "SPDY"));
    Result result =
        run(
            "control-plane",
            "--routes",
            bad.toString(),
            "--plaintext",
            "--listen",
            "127.0.0.1:0",
            "--http",
            "127.0.0.1:0");
    assertThat(result.exitCode()).isEqualTo(1);
    assertThat(result.err())
        .startsWith(bad + ": 2 problems\n")
        .contains("services[1].local_port: 80 is out of range");
  }

  @Test
  void missingTlsFilesExitOne() throws Exception {
    Result result =
        run(
            "control-plane",
            "--routes",
            routes("1").toString(),
            "--tls-cert",
            dir.resolve("none.pem").toString(),
            "--tls-key",
            dir.resolve("none.key").toString(),
            "--listen",
            "127.0.0.1:0",
            "--http",
            "127.0.0.1:0");
    assertThat(result.exitCode()).isEqualTo(1);
    assertThat(result.err()).startsWith("control-plane: cannot start: ");
  }

  @Test
  void fleetPrintsAnAlignedTableAndJson() throws Exception {
    try (ControlPlaneServer server =
        ControlPlaneServer.start(
            new ControlPlaneServer.Options(
                routes("1"),
                HostPort.parse("127.0.0.1:0"),
                HostPort.parse("127.0.0.1:0"),
                Optional.empty(),
                10_000))) {
      ManagedChannel channel =
          Grpc.newChannelBuilderForAddress(
                  "127.0.0.1", server.grpcPort(), InsecureChannelCredentials.create())
              .build();
      try {
        HeartbeatGrpc.newBlockingStub(channel)
            .withDeadlineAfter(5, TimeUnit.SECONDS)
            .report(
                HeartbeatRequest.newBuilder()
                    .setNode(
                        Node.newBuilder()
                            .setId("i-0abc")
                            .setZone("us-east-1a")
                            .setAddress("10.0.0.5"))
                    .setState(HostState.SERVING)
                    .setAppliedVersion("1.e43b8bea")
                    .setLastError("envoy: bind failed")
                    .build());
      } finally {
        channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
      }
      String address = "127.0.0.1:" + server.httpPort();
      Result table = run("fleet", "--control-plane", address);
      assertThat(table.exitCode()).isZero();
      String[] lines = table.out().split("\n");
      assertThat(lines[0])
          .isEqualTo("serving " + server.core().current().getVersion() + " (routes 1), 1 host");
      assertThat(lines[1]).matches("HOST +ZONE +STATE +APPLIED +HEARTBEAT +STREAM +ERROR");
      assertThat(lines[2])
          .matches(
              "i-0abc +us-east-1a +SERVING +1\\.e43b8bea +\\d+s ago +down +envoy: bind failed");
      assertThat(lines[2].indexOf("SERVING")).isEqualTo(lines[1].indexOf("STATE"));

      Result json = run("fleet", "--control-plane", address, "--json");
      assertThat(json.exitCode()).isZero();
      assertThat(json.out()).contains("\"last_error\" : \"envoy: bind failed\"");
    }
  }

  @Test
  void fleetWithNoControlPlaneExitsOne() throws Exception {
    int port;
    try (java.net.ServerSocket socket = new java.net.ServerSocket(0)) {
      port = socket.getLocalPort();
    }
    Result result = run("fleet", "--control-plane", "127.0.0.1:" + port, "--timeout-ms", "2000");
    assertThat(result.exitCode()).isEqualTo(1);
    assertThat(result.err()).startsWith("fleet: cannot read http://127.0.0.1:" + port + "/fleet");
  }
}
