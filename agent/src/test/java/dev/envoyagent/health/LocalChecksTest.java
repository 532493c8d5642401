package dev.envoyagent.health;

import static org.assertj.core.api.Assertions.assertThat;

import com.sun.net.httpserver.HttpServer;
import dev.envoyagent.api.v1.LocalServiceStatus;
import dev.envoyagent.config.AgentSettings.LocalServiceSettings;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class LocalChecksTest {

  final ScheduledExecutorService unused = Executors.newSingleThreadScheduledExecutor();
  HttpServer server;

  @AfterEach
  void tearDown() {
    unused.shutdownNow();
    if (server != null) {
      server.stop(0);
    }
  }

  static LocalServiceStatus only(LocalChecks checks) {
    return checks.statuses().get(0);
  }

  @Test
  void httpChecksRiseAndFallWithThresholds() throws Exception {
    AtomicInteger code = new AtomicInteger(200);
    server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    server.createContext(
        "/health",
        exchange -> {
          exchange.sendResponseHeaders(code.get(), -1);
          exchange.close();
        });
    server.start();
    LocalServiceSettings service =
        new LocalServiceSettings(
            "users-api", server.getAddress().getPort(), "/health", 1000, 500, 2, 3);
    LocalChecks checks = new LocalChecks(List.of(service), unused);

    assertThat(only(checks).getHealthy()).as("unknown until checked").isFalse();
    checks.check(service);
    assertThat(only(checks).getHealthy()).as("one pass is not enough with rise 2").isFalse();
    checks.check(service);
    assertThat(only(checks).getHealthy()).isTrue();

    code.set(503);
    checks.check(service);
    checks.check(service);
    assertThat(only(checks).getHealthy()).as("two failures are not enough with fall 3").isTrue();
    checks.check(service);
    assertThat(only(checks).getHealthy()).isFalse();
    assertThat(only(checks).getDetail()).contains("answered 503");

    code.set(200);
    checks.check(service);
    code.set(503);
    checks.check(service);
    code.set(200);
    checks.check(service);
    assertThat(only(checks).getHealthy()).as("passes must be in a row").isFalse();
    checks.check(service);
    assertThat(only(checks).getHealthy()).isTrue();
  }

  @Test
  void tcpChecksConnect() throws Exception {
    int port;
    LocalChecks checks;
    LocalServiceSettings service;
    try (ServerSocket socket = new ServerSocket(0)) {
      port = socket.getLocalPort();
      service = new LocalServiceSettings("db", port, "", 1000, 200, 1, 1);
      checks = new LocalChecks(List.of(service), unused);
      checks.check(service);
      assertThat(only(checks).getHealthy()).isTrue();
    }
    checks.check(service);
    assertThat(only(checks).getHealthy()).isFalse();
    assertThat(only(checks).getDetail()).startsWith("tcp connect to 127.0.0.1:" + port + " failed");
  }
}
