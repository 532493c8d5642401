package dev.envoyagent.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.envoyagent.controlplane.TestPki;
import dev.envoyagent.testkit.HttpBackend;
import dev.envoyagent.testkit.Ports;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Issue #5, mutual TLS against the control plane as a process, with certificates made at test time:
 * an agent with a client certificate of the fleet CA gets routes and serves them; an agent whose
 * client certificate comes from another CA gets nothing, and says why in one log line; so does an
 * agent that does not trust the control plane's certificate.
 */
class ControlPlaneTlsIT extends FleetItSupport {

  @Test
  void mutualTlsServesTheFleetAndRefusesACertificateFromAnotherCa() throws Exception {
    Path dir = ItAgent.testDir("cp-mtls");
    Path pki = dir.resolve("pki");
    java.nio.file.Files.createDirectories(pki);
    TestPki.Issued fleetCa = TestPki.ca("fleet-ca");
    TestPki.Issued otherCa = TestPki.ca("other-ca");
    Path caPem = TestPki.writeCert(pki.resolve("fleet-ca.pem"), fleetCa.cert());
    Path otherCaPem = TestPki.writeCert(pki.resolve("other-ca.pem"), otherCa.cert());
    TestPki.KeyFiles server =
        TestPki.write(pki, "control-plane", TestPki.leaf(fleetCa, "control-plane"));
    TestPki.KeyFiles good = TestPki.write(pki, "good-agent", TestPki.leaf(fleetCa, "good-agent"));
    TestPki.KeyFiles bad = TestPki.write(pki, "bad-agent", TestPki.leaf(otherCa, "bad-agent"));
    TestPki.KeyFiles untrusting =
        TestPki.write(pki, "untrusting-agent", TestPki.leaf(fleetCa, "untrusting-agent"));

    HttpBackend a = closeLater(HttpBackend.start("a"));
    ItControlPlane cp =
        closeLater(
            ItControlPlane.process(
                dir,
                500,
                "--tls-cert",
                server.cert().toString(),
                "--tls-key",
                server.key().toString(),
                "--tls-client-ca",
                caPem.toString()));
    int webPort = Ports.free();
    cp.routes(httpRoutes("1", "web", webPort, a.port()));
    cp.start();
    assertThat(cp.log()).contains("tls=true mtls=true");

    ItAgent goodAgent = closeLater(ItAgent.create(dir, "good-host"));
    goodAgent.controlPlaneAddresses = List.of(cp.address());
    goodAgent.tls = tlsYaml(caPem, good);
    ItAgent badAgent = closeLater(ItAgent.create(dir, "bad-host"));
    badAgent.controlPlaneAddresses = List.of(cp.address());
    badAgent.tls = tlsYaml(caPem, bad);
    ItAgent untrustingAgent = closeLater(ItAgent.create(dir, "untrusting-host"));
    untrustingAgent.controlPlaneAddresses = List.of(cp.address());
    untrustingAgent.tls = tlsYaml(otherCaPem, untrusting);
    goodAgent.start();
    badAgent.start();
    untrustingAgent.start();

    awaitApplied(goodAgent, "1.", 60);
    assertThat(spread(webPort, 10)).containsExactly(Map.entry("a", 10));
    await()
        .atMost(AgentHarness.scaled(10))
        .pollInterval(POLL)
        .until(() -> "SERVING".equals(cp.host("good-host").path("state").asText()));
    assertThat(cp.host("good-host").path("stream_connected").asBoolean()).isTrue();

    // The refused agent: a clear one-line reason, again on every retry, and nothing applied.
    await()
        .atMost(AgentHarness.scaled(20))
        .pollInterval(POLL)
        .until(() -> count(badAgent.log(), "control plane stream lost") >= 2);
    String line =
        badAgent
            .log()
            .lines()
            .filter(l -> l.contains("control plane stream lost"))
            .findFirst()
            .orElseThrow();
    LOG.info("agent with a certificate from another CA logs: {}", line);
    assertThat(line)
        .contains("target=" + cp.address())
        .contains("status=UNAVAILABLE")
        .containsPattern("reason=\"ssl exception: [^\"]*(?i)certificate[^\"]*\"$");
    assertThat(badAgent.log()).doesNotContain("control plane connected");
    assertThat(badAgent.appliedVersion()).isEmpty();
    assertThat(badAgent.envoyProcesses()).isEmpty();
    assertThat(badAgent.status().path("controlPlaneConnected").asBoolean()).isFalse();
    assertThat(cp.host("bad-host").isMissingNode())
        .as("the control plane never heard of the refused host")
        .isTrue();
    // No stack traces for an expected failure (docs/observability.md).
    assertThat(badAgent.log()).doesNotContain("\tat ");

    // The agent that trusts another CA refuses the control plane's certificate itself.
    await()
        .atMost(AgentHarness.scaled(20))
        .pollInterval(POLL)
        .until(() -> untrustingAgent.log().contains("control plane stream lost"));
    String untrustingLine =
        untrustingAgent
            .log()
            .lines()
            .filter(l -> l.contains("control plane stream lost"))
            .findFirst()
            .orElseThrow();
    LOG.info("agent that does not trust the control plane's certificate logs: {}", untrustingLine);
    assertThat(untrustingLine)
        .contains("status=UNAVAILABLE")
        .containsPattern("reason=\"\\w+ exception: [^\"]*(?i)certif[^\"]*\"$");
    assertThat(untrustingAgent.appliedVersion()).isEmpty();
    assertThat(untrustingAgent.log())
        .doesNotContain("control plane connected")
        .doesNotContain("\tat ");
  }

  private static String tlsYaml(Path ca, TestPki.KeyFiles client) {
    return "{ca_file: "
        + ca
        + ", cert_file: "
        + client.cert()
        + ", key_file: "
        + client.key()
        + "}";
  }

  static int count(String text, String needle) {
    int n = 0;
    for (int i = text.indexOf(needle); i >= 0; i = text.indexOf(needle, i + 1)) {
      n++;
    }
    return n;
  }
}
