package dev.envoyagent.controlplane;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.envoyagent.api.v1.HeartbeatGrpc;
import dev.envoyagent.api.v1.HeartbeatRequest;
import dev.envoyagent.api.v1.Node;
import io.grpc.ChannelCredentials;
import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import io.grpc.StatusRuntimeException;
import io.grpc.TlsChannelCredentials;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** TLS and mutual TLS with certificates made at test time; real loopback connections. */
class ControlPlaneTlsTest {

  @TempDir Path dir;
  Path routes;
  TestPki.Issued ca;
  TestPki.Issued otherCa;
  Path caPem;
  Path otherCaPem;
  Path serverCert;
  Path serverKey;
  final List<ControlPlaneServer> servers = new ArrayList<>();
  final List<ManagedChannel> channels = new ArrayList<>();

  @BeforeEach
  void pki() throws Exception {
    routes =
        Files.writeString(dir.resolve("routes.yaml"), ControlPlaneServerTest.ROUTES.formatted("1"));
    ca = TestPki.ca("fleet-ca");
    otherCa = TestPki.ca("other-ca");
    caPem = TestPki.writeCert(dir.resolve("ca.pem"), ca.cert());
    otherCaPem = TestPki.writeCert(dir.resolve("other-ca.pem"), otherCa.cert());
    TestPki.KeyFiles server = TestPki.write(dir, "server", TestPki.leaf(ca, "control-plane"));
    serverCert = server.cert();
    serverKey = server.key();
  }

  @AfterEach
  void stop() throws InterruptedException {
    for (ManagedChannel channel : channels) {
      channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }
    servers.forEach(ControlPlaneServer::close);
  }

  private ControlPlaneServer start(Optional<Path> clientCa) throws Exception {
    ControlPlaneServer server =
        ControlPlaneServer.start(
            new ControlPlaneServer.Options(
                routes,
                HostPort.parse("127.0.0.1:0"),
                HostPort.parse("127.0.0.1:0"),
                Optional.of(new ReloadingTls.TlsFiles(serverCert, serverKey, clientCa)),
                10_000));
    servers.add(server);
    return server;
  }

  private String heartbeat(ControlPlaneServer server, ChannelCredentials credentials) {
    ManagedChannel channel =
        Grpc.newChannelBuilderForAddress("127.0.0.1", server.grpcPort(), credentials).build();
    channels.add(channel);
    HeartbeatGrpc.newBlockingStub(channel)
        .withDeadlineAfter(10, TimeUnit.SECONDS)
        .report(HeartbeatRequest.newBuilder().setNode(Node.newBuilder().setId("h1")).build());
    return "ok";
  }

  private ChannelCredentials trusting(Path caFile) throws Exception {
    return TlsChannelCredentials.newBuilder().trustManager(caFile.toFile()).build();
  }

  private ChannelCredentials client(Path trust, TestPki.Issued issuer, String name)
      throws Exception {
    TestPki.KeyFiles client = TestPki.write(dir, name, TestPki.leaf(issuer, name));
    return TlsChannelCredentials.newBuilder()
        .trustManager(trust.toFile())
        .keyManager(client.cert().toFile(), client.key().toFile())
        .build();
  }

  @Test
  void tlsServesAClientThatTrustsTheCaAndRefusesPlaintextAndStrangers() throws Exception {
    ControlPlaneServer server = start(Optional.empty());
    assertThat(heartbeat(server, trusting(caPem))).isEqualTo("ok");
    assertThatThrownBy(() -> heartbeat(server, InsecureChannelCredentials.create()))
        .isInstanceOf(StatusRuntimeException.class);
    assertThatThrownBy(() -> heartbeat(server, trusting(otherCaPem)))
        .isInstanceOf(StatusRuntimeException.class);
  }

  @Test
  void mutualTlsNeedsAClientCertificateFromTheConfiguredCa() throws Exception {
    ControlPlaneServer server = start(Optional.of(caPem));
    assertThat(heartbeat(server, client(caPem, ca, "agent-1"))).isEqualTo("ok");
    assertThatThrownBy(() -> heartbeat(server, client(caPem, otherCa, "intruder")))
        .isInstanceOf(StatusRuntimeException.class);
    assertThatThrownBy(() -> heartbeat(server, trusting(caPem)))
        .isInstanceOf(StatusRuntimeException.class);
  }

  @Test
  void newConnectionsUseCertificateFilesReplacedWhileRunning() throws Exception {
    ControlPlaneServer server = start(Optional.empty());
    assertThatThrownBy(() -> heartbeat(server, trusting(otherCaPem)))
        .isInstanceOf(StatusRuntimeException.class);
    TestPki.Issued rotated = TestPki.leaf(otherCa, "control-plane");
    // Key first, then certificate: in between the pair does not match and is refused, not served.
    TestPki.writeKey(serverKey, rotated.key());
    TestPki.writeCert(serverCert, rotated.cert());
    await()
        .atMost(Duration.ofSeconds(15))
        .ignoreExceptions()
        .until(() -> heartbeat(server, trusting(otherCaPem)).equals("ok"));
  }

  @Test
  void filesThatDoNotLoadRefuseTheStart() throws Exception {
    Files.writeString(serverKey, "not a key");
    assertThatThrownBy(() -> start(Optional.empty()))
        .hasMessageContaining("holds no PEM private key");
  }
}
