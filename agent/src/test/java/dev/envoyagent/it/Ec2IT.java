package dev.envoyagent.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.envoyagent.testkit.HttpBackend;
import dev.envoyagent.testkit.imds.ImdsEmulator;
import dev.envoyagent.testkit.imds.InstanceProfile;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;

/**
 * Issue #6 end to end: identity from the IMDSv2 emulator, zone preference in the rendered config
 * and in where the simulator sends traffic, and a spot notice that drains the host while requests
 * in flight complete.
 */
class Ec2IT extends AgentItSupport {

  private static final ObjectMapper JSON = new ObjectMapper();
  private final HttpClient http =
      HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();

  @Test
  void identityZonePreferenceAndASpotNoticeThatDrainsTheHost() throws Exception {
    ImdsEmulator imds =
        closeLater(
            ImdsEmulator.builder()
                .port(0)
                .profile(
                    InstanceProfile.defaults()
                        .withInstanceId("i-0feedfacecafe0001")
                        .withPlacement("us-east-1", "us-east-1b", "use1-az2"))
                .start());
    HttpBackend local = closeLater(HttpBackend.start("local-zone"));
    HttpBackend remote = closeLater(HttpBackend.start("other-zone"));
    AgentHarness agent =
        closeLater(
            AgentHarness.create("ec2", new AgentHarness.Options("files", 3, 5, 500, 100, 20, 5)));
    // Identity comes from IMDS: no id, no zone configured.
    String yaml =
        Files.readString(agent.agentYaml)
                .replaceFirst("node: \\{[^}]*}", "node: {id: auto, cluster: it}")
            + "ec2: on\n";
    Files.writeString(agent.agentYaml, yaml);
    agent.agentEnv.put("AWS_EC2_METADATA_SERVICE_ENDPOINT", imds.endpoint().toString());
    currentHttpPort = agent.httpPort;
    agent.rawRoutes(
        """
        version: "z1"
        services:
          - name: web
            protocol: HTTP
            local_port: %d
            zone_aware: true
            endpoints:
              - { address: 127.0.0.1, port: %d, zone: us-east-1b }
              - { address: 127.0.0.1, port: %d, zone: us-east-1a }
        """
            .formatted(agent.httpPort, local.port(), remote.port()));
    agent.startAgent();
    awaitServing(agent, "z1", 90);

    // Identity: node id and locality from IMDS, and tokens were used (IMDSv2).
    JsonNode bootstrap = JSON.readTree(agent.stateDir.resolve("envoy/bootstrap.json").toFile());
    assertThat(bootstrap.path("node").path("id").asText()).isEqualTo("i-0feedfacecafe0001");
    assertThat(bootstrap.path("node").path("locality").path("zone").asText())
        .isEqualTo("us-east-1b");
    assertThat(imds.tokensIssued()).isPositive();

    // Zone preference in the rendered config...
    JsonNode eds = JSON.readTree(agent.stateDir.resolve("envoy/eds/web.json").toFile());
    List<String> priorities = new ArrayList<>();
    for (JsonNode locality : eds.path("resources").get(0).path("endpoints")) {
      priorities.add(
          locality.path("locality").path("zone").asText()
              + "@"
              + locality.path("priority").asInt(0));
    }
    assertThat(priorities).containsExactlyInAnyOrder("us-east-1b@0", "us-east-1a@1");
    // ...and in where the traffic goes.
    for (int i = 0; i < 40; i++) {
      assertThat(get("/zone").statusCode()).isEqualTo(200);
    }
    assertThat(local.requests()).isEqualTo(40);
    assertThat(remote.requests()).isZero();

    // A spot notice while slow requests are in flight.
    local.delayMs(2_000);
    List<CompletableFuture<HttpResponse<String>>> inFlight = new ArrayList<>();
    for (int i = 0; i < 4; i++) {
      inFlight.add(http.sendAsync(request("/slow"), HttpResponse.BodyHandlers.ofString()));
    }
    long noticeAt = System.nanoTime();
    imds.spotInterruption("terminate");
    await()
        .atMost(AgentHarness.scaled(20))
        .pollInterval(POLL)
        .until(() -> agent.agentLog().contains("host draining"));
    long drainingAfterMs = (System.nanoTime() - noticeAt) / 1_000_000;
    await()
        .atMost(AgentHarness.scaled(10))
        .pollInterval(POLL)
        .until(() -> "DRAINING".equals(agent.envoyAdmin().serverInfo().path("state").asText()));
    assertThat(agent.agentLog()).contains("SPOT_INTERRUPTION");
    for (CompletableFuture<HttpResponse<String>> request : inFlight) {
      assertThat(request.get().statusCode())
          .as("a request in flight when the drain began")
          .isEqualTo(200);
    }
    assertThat(agent.envoyAdmin().get("/ready").status())
        .as("health checks fail while draining")
        .isEqualTo(503);
    LOG.info(
        "ec2: spot notice seen and host draining after {} ms; {} in-flight requests completed",
        drainingAfterMs,
        inFlight.size());
    JsonNode status =
        JSON.readTree(
            http.send(
                    HttpRequest.newBuilder(URI.create("http://" + adminListen(agent) + "/status"))
                        .build(),
                    HttpResponse.BodyHandlers.ofString())
                .body());
    assertThat(status.path("draining").asBoolean()).isTrue();
    assertThat(status.path("instance").path("instance_id").asText())
        .isEqualTo("i-0feedfacecafe0001");
  }

  private HttpRequest request(String path) {
    return HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + currentHttpPort + path))
        .timeout(Duration.ofSeconds(10))
        .build();
  }

  /** The agent's HTTP listener for service web. */
  private int currentHttpPort;

  private HttpResponse<String> get(String path) throws Exception {
    return http.send(request(path), HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
  }

  private static String adminListen(AgentHarness agent) throws Exception {
    String yaml = Files.readString(agent.agentYaml);
    var matcher = java.util.regex.Pattern.compile("listen: (127\\.0\\.0\\.1:[0-9]+)").matcher(yaml);
    assertThat(matcher.find()).isTrue();
    return matcher.group(1);
  }
}
