package dev.envoyagent.agent;

import static org.assertj.core.api.Assertions.assertThat;

import dev.envoyagent.api.v1.Endpoint;
import dev.envoyagent.api.v1.Protocol;
import dev.envoyagent.api.v1.RouteSnapshot;
import dev.envoyagent.api.v1.Service;
import dev.envoyagent.metrics.AgentMetrics;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class StatusBoardTest {

  @TempDir Path dir;
  final AtomicLong clock = new AtomicLong(1_000_000);
  final AgentMetrics metrics = new AgentMetrics();

  static Service service(String name, int port, String endpoint) {
    return Service.newBuilder()
        .setName(name)
        .setProtocol(Protocol.TCP)
        .setLocalPort(port)
        .addEndpoints(Endpoint.newBuilder().setAddress(endpoint).setPort(5432))
        .build();
  }

  @Test
  void historySaysWhichServicesChangedAndMetricsMove() {
    StatusBoard board = new StatusBoard(dir.resolve("status.json"), clock::get, metrics);
    board.received("1");
    clock.addAndGet(250);
    board.applied(
        RouteSnapshot.newBuilder()
            .setVersion("1")
            .addServices(service("a", 2000, "10.0.0.1"))
            .addServices(service("b", 2001, "10.0.0.2"))
            .build(),
        true);
    board.received("2");
    board.applied(
        RouteSnapshot.newBuilder()
            .setVersion("2")
            .addServices(service("a", 2000, "10.0.0.9"))
            .addServices(service("c", 2002, "10.0.0.3"))
            .build(),
        false);

    AgentStatus status = board.snapshot();
    assertThat(status.history()).extracting(AgentStatus.Applied::version).containsExactly("1", "2");
    AgentStatus.Applied second = status.history().get(1);
    assertThat(second.restarted()).isFalse();
    assertThat(second.added()).containsExactly("c");
    assertThat(second.removed()).containsExactly("b");
    assertThat(second.changed()).containsExactly("a");
    assertThat(metrics.counter("snapshots", "applied").getCount()).isEqualTo(2);
    assertThat(metrics.counter("snapshots", "received").getCount()).isEqualTo(2);
    assertThat(metrics.timer("snapshots", "apply_time").getCount()).isEqualTo(2);
    assertThat(metrics.timer("snapshots", "apply_time").getSnapshot().getMax())
        .isEqualTo(250_000_000L);
    assertThat(dir.resolve("status.json")).exists();
  }

  @Test
  void restartsAreCountedByReason() {
    StatusBoard board = new StatusBoard(dir.resolve("status.json"), clock::get, metrics);
    board.restart("hot");
    board.restart("hot");
    board.restart("cold: hot-restart version changes from 11.104 to 12.104");
    board.restart("cold: 3 hot restarts in a row failed");
    board.crash();
    board.failedRestart();
    assertThat(metrics.counter("supervisor", "restarts.hot").getCount()).isEqualTo(2);
    assertThat(metrics.counter("supervisor", "restarts.cold_hot_restart_version").getCount())
        .isEqualTo(1);
    assertThat(metrics.counter("supervisor", "restarts.cold_stuck_hot_restart").getCount())
        .isEqualTo(1);
    assertThat(metrics.counter("envoy", "crashes").getCount()).isEqualTo(1);
    assertThat(metrics.counter("supervisor", "failed_restarts").getCount()).isEqualTo(1);
    AgentStatus status = board.snapshot();
    assertThat(status.hotRestarts()).isEqualTo(2);
    assertThat(status.coldRestarts()).isEqualTo(2);
    assertThat(status.restarts()).extracting(AgentStatus.Restart::kind).startsWith("hot", "hot");
  }

  @Test
  void aRefusedRoutesSourceIsRememberedUntilAGoodSnapshotArrives() {
    StatusBoard board = new StatusBoard(dir.resolve("status.json"), clock::get, metrics);
    board.sourceRefused("routes file refused: services[0].name: must not be empty");
    assertThat(board.snapshot().sourceError()).startsWith("routes file refused");
    board.received("5");
    assertThat(board.snapshot().sourceError()).isEmpty();
    assertThat(board.snapshot().lastError()).startsWith("routes file refused");
  }
}
