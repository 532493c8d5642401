package dev.envoyagent.controlplane;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.envoyagent.api.v1.HeartbeatGrpc;
import dev.envoyagent.api.v1.HeartbeatRequest;
import dev.envoyagent.api.v1.HeartbeatResponse;
import dev.envoyagent.api.v1.HostState;
import dev.envoyagent.api.v1.LocalServiceStatus;
import dev.envoyagent.api.v1.Node;
import dev.envoyagent.api.v1.RouteResponse;
import dev.envoyagent.model.InvalidInputException;
import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The process glue over real loopback sockets, plaintext (TLS has its own test). */
class ControlPlaneServerTest {

  static final String ROUTES =
      """
      version: "%s"
      services:
        - name: users
          protocol: HTTP
          local_port: 9001
          endpoints: [ { address: "10.0.0.1", port: 8080 } ]
        - { name: db, protocol: TCP, local_port: 9002 }
      """;

  @TempDir Path dir;
  Path routes;
  ControlPlaneServer server;
  ManagedChannel channel;
  final HttpClient http = HttpClient.newHttpClient();

  @BeforeEach
  void start() throws Exception {
    routes = Files.writeString(dir.resolve("routes.yaml"), ROUTES.formatted("1"));
    server =
        ControlPlaneServer.start(
            new ControlPlaneServer.Options(
                routes,
                HostPort.parse("127.0.0.1:0"),
                HostPort.parse("127.0.0.1:0"),
                Optional.empty(),
                10_000));
    channel =
        Grpc.newChannelBuilderForAddress(
                "127.0.0.1", server.grpcPort(), InsecureChannelCredentials.create())
            .build();
  }

  @AfterEach
  void stop() throws InterruptedException {
    server.close();
    channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
  }

  private HttpResponse<String> get(String path) throws Exception {
    return http.send(
        HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.httpPort() + path)).build(),
        HttpResponse.BodyHandlers.ofString());
  }

  private HttpResponse<String> post(String path) throws Exception {
    return http.send(
        HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.httpPort() + path))
            .POST(HttpRequest.BodyPublishers.noBody())
            .build(),
        HttpResponse.BodyHandlers.ofString());
  }

  private HeartbeatResponse beat(String id, HostState state, boolean healthy) {
    return HeartbeatGrpc.newBlockingStub(channel)
        .withDeadlineAfter(5, TimeUnit.SECONDS)
        .report(
            HeartbeatRequest.newBuilder()
                .setNode(
                    Node.newBuilder()
                        .setId(id)
                        .setCluster("web")
                        .setZone("us-east-1a")
                        .setAddress("10.0.0.5"))
                .setState(state)
                .setAppliedVersion("1.x")
                .setLastError(healthy ? "" : "envoy not live")
                .addLocalServices(
                    LocalServiceStatus.newBuilder()
                        .setName("users")
                        .setPort(8080)
                        .setHealthy(healthy))
                .build());
  }

  @Test
  void aStreamGetsTheRoutesAndAnEditOfTheFileIsPushed() throws Exception {
    StreamProbe agent = new StreamProbe(channel, "h1");
    RouteResponse first = agent.next();
    assertThat(first.getSnapshot().getVersion()).startsWith("1.");
    agent.ack(first);
    Files.writeString(routes, ROUTES.formatted("2"));
    assertThat(agent.next().getSnapshot().getVersion()).startsWith("2.");
  }

  @Test
  void aRoutesFileThatDoesNotValidateIsRefusedAndThePreviousKeepsServing() throws Exception {
    StreamProbe agent = new StreamProbe(channel, "h1");
    String served = agent.next().getSnapshot().getVersion();
    Files.writeString(routes, ROUTES.formatted("3").replace("9002", "80"));
    // Two poll ticks on a real clock: nothing may be pushed, the previous routes keep serving.
    assertThat(agent.responses.poll(2500, TimeUnit.MILLISECONDS)).isNull();
    assertThat(server.core().current().getVersion()).isEqualTo(served);
    Files.writeString(routes, ROUTES.formatted("4"));
    assertThat(agent.next().getSnapshot().getVersion()).startsWith("4.").isNotEqualTo(served);
  }

  @Test
  void heartbeatsRegisterAndTheFleetIsServedAsJson() throws Exception {
    StreamProbe agent = new StreamProbe(channel, "h1");
    agent.ack(agent.next());
    assertThat(beat("h1", HostState.SERVING, true).getHeartbeatIntervalMs()).isEqualTo(10_000);
    assertThat(agent.next().getSnapshot().getServices(0).getEndpointsCount()).isEqualTo(2);

    HttpResponse<String> response = get("/fleet");
    assertThat(response.statusCode()).isEqualTo(200);
    assertThat(response.headers().firstValue("Content-Type")).hasValue("application/json");
    JsonNode fleet = new ObjectMapper().readTree(response.body());
    assertThat(fleet.path("serving_version").asText())
        .isEqualTo(server.core().current().getVersion());
    JsonNode host = fleet.path("hosts").get(0);
    assertThat(host.path("id").asText()).isEqualTo("h1");
    assertThat(host.path("state").asText()).isEqualTo("SERVING");
    assertThat(host.path("stream_connected").asBoolean()).isTrue();
    assertThat(host.path("last_heartbeat_age_ms").asLong()).isBetween(0L, 10_000L);
    assertThat(host.path("local_services").get(0).path("registered").asBoolean()).isTrue();
  }

  @Test
  void drainIsRequestedOverHttpAndAnsweredAtTheNextHeartbeat() throws Exception {
    assertThat(post("/fleet/h1/drain").statusCode()).isEqualTo(404);
    beat("h1", HostState.SERVING, true);
    assertThat(post("/fleet/h1/drain").statusCode()).isEqualTo(200);
    assertThat(beat("h1", HostState.SERVING, true).getDrain()).isTrue();
    assertThat(get("/fleet/h1/drain").statusCode()).isEqualTo(405);
    assertThat(post("/fleet").statusCode()).isEqualTo(405);
    assertThat(get("/elsewhere").statusCode()).isEqualTo(404);
  }

  @Test
  void closingEndsStreamsSoAgentsReconnect() throws Exception {
    StreamProbe agent = new StreamProbe(channel, "h1");
    agent.next();
    server.close();
    assertThat(agent.closed.get(10, TimeUnit.SECONDS).getCode())
        .isEqualTo(io.grpc.Status.Code.UNAVAILABLE);
    server.close(); // idempotent
  }

  @Test
  void aCancelledStreamShowsAsDown() throws Exception {
    StreamProbe agent = new StreamProbe(channel, "h1");
    agent.next();
    agent.cancel();
    await()
        .atMost(Duration.ofSeconds(10))
        .until(
            () ->
                server.core().fleet().hosts().stream().noneMatch(FleetView.Host::streamConnected));
  }

  @Test
  void theLongestHeartbeatIntervalStarts() throws Exception {
    try (ControlPlaneServer slow =
        ControlPlaneServer.start(
            new ControlPlaneServer.Options(
                routes,
                HostPort.parse("127.0.0.1:0"),
                HostPort.parse("127.0.0.1:0"),
                Optional.empty(),
                3_600_000))) {
      assertThat(slow.core().fleet().heartbeatIntervalMs()).isEqualTo(3_600_000);
    }
  }

  @Test
  void startRefusesRoutesThatDoNotValidate() throws Exception {
    Path bad =
        Files.writeString(dir.resolve("bad.yaml"), ROUTES.formatted("1").replace("9002", "80"));
    assertThatThrownBy(
            () ->
                ControlPlaneServer.start(
                    new ControlPlaneServer.Options(
                        bad,
                        HostPort.parse("127.0.0.1:0"),
                        HostPort.parse("127.0.0.1:0"),
                        Optional.empty(),
                        10_000)))
        .isInstanceOfSatisfying(
            InvalidInputException.class,
            e ->
                assertThat(e.problems().get(0).toString())
                    .startsWith("services[1].local_port: 80 is out of range"));
  }
}
