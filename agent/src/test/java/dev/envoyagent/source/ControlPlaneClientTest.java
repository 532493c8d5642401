package dev.envoyagent.source;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.envoyagent.api.v1.Node;
import dev.envoyagent.api.v1.RouteDiscoveryGrpc;
import dev.envoyagent.api.v1.RouteRequest;
import dev.envoyagent.api.v1.RouteResponse;
import dev.envoyagent.api.v1.RouteSnapshot;
import dev.envoyagent.config.AgentSettings.ListenAddress;
import dev.envoyagent.support.Backoff;
import dev.envoyagent.support.ChannelFactory;
import io.grpc.Server;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.StreamObserver;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.Random;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The real client against a real gRPC server on loopback that plays the control plane. */
class ControlPlaneClientTest {

  static final Node NODE = Node.newBuilder().setId("host-1").setCluster("web").build();
  static final Backoff FAST = new Backoff(Duration.ofMillis(50), Duration.ofMillis(200), 0.1);

  /** A scripted control plane: records every request; sends what the test says. */
  static final class FakeControlPlane extends RouteDiscoveryGrpc.RouteDiscoveryImplBase {
    final BlockingQueue<RouteRequest> requests = new LinkedBlockingQueue<>();
    final List<StreamObserver<RouteResponse>> streams = new CopyOnWriteArrayList<>();
    volatile RouteSnapshot snapshot;

    @Override
    public StreamObserver<RouteRequest> streamRoutes(StreamObserver<RouteResponse> responses) {
      streams.add(responses);
      return new StreamObserver<>() {
        @Override
        public void onNext(RouteRequest request) {
          requests.add(request);
          if (request.getResponseNonce().isEmpty() && snapshot != null) {
            responses.onNext(
                RouteResponse.newBuilder()
                    .setSnapshot(snapshot)
                    .setNonce("n-" + snapshot.getVersion())
                    .build());
          }
        }

        @Override
        public void onError(Throwable t) {
          streams.remove(responses);
        }

        @Override
        public void onCompleted() {
          streams.remove(responses);
          responses.onCompleted();
        }
      };
    }

    void push(RouteSnapshot next) {
      snapshot = next;
      streams.forEach(
          s ->
              s.onNext(
                  RouteResponse.newBuilder()
                      .setSnapshot(next)
                      .setNonce("n-" + next.getVersion())
                      .build()));
    }

    RouteRequest next() throws InterruptedException {
      RouteRequest request = requests.poll(10, TimeUnit.SECONDS);
      assertThat(request).as("a request from the agent").isNotNull();
      return request;
    }
  }

  final ScheduledExecutorService executor = Executors.newSingleThreadScheduledExecutor();
  final List<RouteResponse> received = new CopyOnWriteArrayList<>();
  final List<Server> servers = new CopyOnWriteArrayList<>();
  ControlPlaneClient client;

  Server serve(int port, FakeControlPlane service) throws IOException {
    Server server =
        NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", port))
            .addService(service)
            .build()
            .start();
    servers.add(server);
    return server;
  }

  static int freePort() throws IOException {
    try (ServerSocket socket = new ServerSocket(0)) {
      return socket.getLocalPort();
    }
  }

  ControlPlaneClient client(int... ports) {
    List<ListenAddress> addresses =
        java.util.Arrays.stream(ports).mapToObj(p -> new ListenAddress("127.0.0.1", p)).toList();
    client =
        new ControlPlaneClient(
            addresses,
            new ChannelFactory(Optional.empty(), Duration.ofSeconds(1)),
            NODE,
            FAST,
            Duration.ZERO,
            executor,
            new Random(1),
            received::add);
    client.start();
    return client;
  }

  @AfterEach
  void tearDown() throws InterruptedException {
    if (client != null) {
      client.close();
    }
    servers.forEach(Server::shutdownNow);
    executor.shutdown();
    executor.awaitTermination(5, TimeUnit.SECONDS);
  }

  @Test
  void receivesSnapshotsAndAnswersEachWithAnAckOrANack() throws Exception {
    FakeControlPlane cp = new FakeControlPlane();
    cp.snapshot = RouteSnapshot.newBuilder().setVersion("v1").build();
    int port = freePort();
    serve(port, cp);
    client(port);

    RouteRequest hello = cp.next();
    assertThat(hello.getNode()).isEqualTo(NODE);
    assertThat(hello.getVersionInfo()).isEmpty();
    await().atMost(Duration.ofSeconds(10)).until(() -> received.size() == 1);
    assertThat(received.get(0).getSnapshot().getVersion()).isEqualTo("v1");

    client.ack("n-v1", "v1");
    RouteRequest ack = cp.next();
    assertThat(ack.getResponseNonce()).isEqualTo("n-v1");
    assertThat(ack.getVersionInfo()).isEqualTo("v1");
    assertThat(ack.getErrorsList()).isEmpty();

    cp.push(RouteSnapshot.newBuilder().setVersion("v2").build());
    await().atMost(Duration.ofSeconds(10)).until(() -> received.size() == 2);
    client.nack("n-v2", List.of("services[0].name: must not be empty"));
    RouteRequest nack = cp.next();
    assertThat(nack.getResponseNonce()).isEqualTo("n-v2");
    assertThat(nack.getVersionInfo()).as("a NACK names the version still applied").isEqualTo("v1");
    assertThat(nack.getErrorsList()).containsExactly("services[0].name: must not be empty");
  }

  @Test
  void reconnectsWhenTheControlPlaneComesBackAndSaysWhatItRuns() throws Exception {
    FakeControlPlane cp = new FakeControlPlane();
    cp.snapshot = RouteSnapshot.newBuilder().setVersion("v1").build();
    int port = freePort();
    Server first = serve(port, cp);
    client(port);
    await().atMost(Duration.ofSeconds(10)).until(() -> received.size() == 1);
    client.ack("n-v1", "v1");
    cp.next();
    cp.next();

    first.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    FakeControlPlane restarted = new FakeControlPlane();
    restarted.snapshot = RouteSnapshot.newBuilder().setVersion("v3").build();
    serve(port, restarted);

    RouteRequest hello = restarted.next();
    assertThat(hello.getVersionInfo())
        .as("the new stream starts from what the agent runs")
        .isEqualTo("v1");
    await().atMost(Duration.ofSeconds(10)).until(() -> received.size() == 2);
    assertThat(received.get(1).getSnapshot().getVersion()).isEqualTo("v3");
    assertThat(client.reconnects()).isPositive();
  }

  @Test
  void failsOverToTheNextAddress() throws Exception {
    FakeControlPlane cp = new FakeControlPlane();
    cp.snapshot = RouteSnapshot.newBuilder().setVersion("from-second").build();
    int dead = freePort();
    int alive = freePort();
    serve(alive, cp);
    client(dead, alive);
    await().atMost(Duration.ofSeconds(10)).until(() -> received.size() == 1);
    assertThat(received.get(0).getSnapshot().getVersion()).isEqualTo("from-second");
  }
}
