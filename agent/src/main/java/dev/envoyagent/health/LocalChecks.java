package dev.envoyagent.health;

import dev.envoyagent.api.v1.LocalServiceStatus;
import dev.envoyagent.config.AgentSettings.LocalServiceSettings;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Checks the services this host serves, as Nerve did: an HTTP GET (2xx is up) or a TCP connect,
 * each with a timeout; a service turns healthy after {@code rise} passes in a row and unhealthy
 * after {@code fall} failures in a row, so one blip does not deregister a host. Starts unhealthy.
 * Only transitions are logged.
 */
public final class LocalChecks implements AutoCloseable {

  private static final Logger LOG = LoggerFactory.getLogger(LocalChecks.class);

  private final ScheduledExecutorService executor;
  private final HttpClient http =
      HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
  private final Map<String, State> states = new ConcurrentHashMap<>();
  private final List<ScheduledFuture<?>> tasks = new ArrayList<>();
  private final List<LocalServiceSettings> services;

  /** The outcome of the checks so far for one service. */
  private record State(boolean healthy, int streak, String detail) {}

  public LocalChecks(List<LocalServiceSettings> services, ScheduledExecutorService executor) {
    this.services = List.copyOf(services);
    this.executor = executor;
    for (LocalServiceSettings service : services) {
      states.put(service.name(), new State(false, 0, "not checked yet"));
    }
  }

  public void start() {
    for (LocalServiceSettings service : services) {
      tasks.add(
          executor.scheduleWithFixedDelay(
              () -> check(service), 0, service.intervalMs(), TimeUnit.MILLISECONDS));
    }
  }

  /** Every service's state now, in configuration order. */
  public List<LocalServiceStatus> statuses() {
    List<LocalServiceStatus> out = new ArrayList<>();
    for (LocalServiceSettings service : services) {
      State state = states.get(service.name());
      out.add(
          LocalServiceStatus.newBuilder()
              .setName(service.name())
              .setPort(service.port())
              .setHealthy(state.healthy())
              .setDetail(state.healthy() ? "" : state.detail())
              .build());
    }
    return out;
  }

  void check(LocalServiceSettings service) {
    String failure;
    try {
      failure = service.httpPath().isEmpty() ? tcp(service) : http(service);
    } catch (RuntimeException e) {
      failure = e.toString();
    }
    record(service, failure);
  }

  private void record(LocalServiceSettings service, String failure) {
    State before = states.get(service.name());
    boolean passed = failure == null;
    // The streak counts results that disagree with the current state; enough of them flip it.
    int streak = passed != before.healthy() ? before.streak() + 1 : 0;
    boolean flip = passed ? streak >= service.rise() : streak >= service.fall();
    boolean healthy = flip ? passed : before.healthy();
    State after = new State(healthy, flip ? 0 : streak, passed ? "" : failure);
    states.put(service.name(), after);
    if (healthy != before.healthy()) {
      if (healthy) {
        LOG.info("local service up name={} port={}", service.name(), service.port());
      } else {
        LOG.warn(
            "local service down name={} port={} reason=\"{}\"",
            service.name(),
            service.port(),
            failure);
      }
    }
  }

  private static String tcp(LocalServiceSettings service) {
    try (Socket socket = new Socket()) {
      socket.connect(new InetSocketAddress("127.0.0.1", service.port()), service.timeoutMs());
      return null;
    } catch (IOException e) {
      return "tcp connect to 127.0.0.1:" + service.port() + " failed: " + e.getMessage();
    }
  }

  private String http(LocalServiceSettings service) {
    URI uri = URI.create("http://127.0.0.1:" + service.port() + service.httpPath());
    try {
      HttpResponse<Void> response =
          http.send(
              HttpRequest.newBuilder(uri)
                  .timeout(Duration.ofMillis(service.timeoutMs()))
                  .GET()
                  .build(),
              HttpResponse.BodyHandlers.discarding());
      int code = response.statusCode();
      return code >= 200 && code < 300 ? null : "GET " + uri + " answered " + code;
    } catch (IOException e) {
      return "GET " + uri + " failed: " + e.getMessage();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return "interrupted";
    }
  }

  @Override
  public void close() {
    tasks.forEach(task -> task.cancel(false));
  }
}
