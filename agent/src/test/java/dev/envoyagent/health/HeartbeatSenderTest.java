package dev.envoyagent.health;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.envoyagent.api.v1.HeartbeatGrpc;
import dev.envoyagent.api.v1.HeartbeatRequest;
import dev.envoyagent.api.v1.HeartbeatResponse;
import dev.envoyagent.config.AgentSettings.ListenAddress;
import dev.envoyagent.support.ChannelFactory;
import io.grpc.Server;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.StreamObserver;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Random;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

class HeartbeatSenderTest {

  /** Counts beats and how many were in flight at once. */
  private static final class CountingControlPlane extends HeartbeatGrpc.HeartbeatImplBase {
    final AtomicInteger received = new AtomicInteger();
    final AtomicInteger inFlight = new AtomicInteger();
    final AtomicInteger mostInFlight = new AtomicInteger();

    @Override
    public void report(HeartbeatRequest request, StreamObserver<HeartbeatResponse> response) {
      mostInFlight.accumulateAndGet(inFlight.incrementAndGet(), Math::max);
      try {
        Thread.sleep(2);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
      received.incrementAndGet();
      inFlight.decrementAndGet();
      response.onNext(HeartbeatResponse.getDefaultInstance());
      response.onCompleted();
    }
  }

  @Test
  void beatsAskedForFromManyThreadsWhileScheduledOnesRunNeverOverlap() throws Exception {
    CountingControlPlane controlPlane = new CountingControlPlane();
    Server server =
        NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0))
            .addService(controlPlane)
            .build()
            .start();
    ScheduledExecutorService thread = Executors.newSingleThreadScheduledExecutor();
    HeartbeatSender reporter =
        new HeartbeatSender(
            List.of(new ListenAddress("127.0.0.1", server.getPort())),
            new ChannelFactory(Optional.empty(), Duration.ofSeconds(1)),
            Duration.ofMillis(200),
            Duration.ofSeconds(2),
            HeartbeatRequest::getDefaultInstance,
            r -> {},
            thread,
            new Random(1),
            ms -> {});
    try {
      reporter.start();
      List<Thread> drainers = new ArrayList<>();
      for (int t = 0; t < 8; t++) {
        Thread drainer =
            new Thread(
                () -> {
                  for (int i = 0; i < 25; i++) {
                    reporter.beatNow();
                    Thread.onSpinWait();
                  }
                });
        drainers.add(drainer);
        drainer.start();
      }
      for (Thread drainer : drainers) {
        drainer.join();
      }
      await().atMost(Duration.ofSeconds(20)).until(() -> reporter.sent() >= 200);
      Thread.sleep(500); // a few scheduled beats more
      assertThat(controlPlane.mostInFlight.get()).as("beats in flight at once").isEqualTo(1);
      assertThat(reporter.failed()).isZero();
      assertThat(reporter.sent()).isEqualTo(controlPlane.received.get());
    } finally {
      reporter.close();
      server.shutdownNow();
    }
    assertThat(thread.awaitTermination(5, java.util.concurrent.TimeUnit.SECONDS))
        .as("close ends its thread")
        .isTrue();
  }
}
