package dev.envoyagent.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

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
    ItPki.Issued fleetCa = ItPki.ca("fleet-ca");
    ItPki.Issued otherCa = ItPki.ca("other-ca");
    Path caPem = ItPki.writeCert(pki.resolve("fleet-ca.pem"), fleetCa.cert());
    Path otherCaPem = ItPki.writeCert(pki.resolve("other-ca.pem"), otherCa.cert());
    ItPki.Files2 server = ItPki.write(pki, "control-plane", ItPki.leaf(fleetCa, "control-plane"));
    ItPki.Files2 good = ItPki.write(pki, "good-agent", ItPki.leaf(fleetCa, "good-agent"));
    ItPki.Files2 bad = ItPki.write(pki, "bad-agent", ItPki.leaf(otherCa, "bad-agent"));
    ItPki.Files2 untrusting = ItPki.write(pki, "untrusting-agent", ItPki.leaf(fleetCa, "untrusting-agent"));

    HttpBackend a = closeLater(HttpBackend.start("a"));
    ItControlPlane cp = closeLater(ItControlPlane.process(dir, 500, "--tls-cert", server.cert().toString(),
        "--tls-key", server.key().toString(), "--tls-client-ca", caPem.toString()));
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
    await().atMost(AgentHarness.scaled(10)).pollInterval(POLL)
        .until(() -> "SERVING".equals(cp.host("good-host").path("state").asText()));
    assertThat(cp.host("good-host").path("stream_connected").asBoolean()).isTrue();

    // The refused agent: a clear one-line reason, again on every retry, and nothing applied.
    await().atMost(AgentHarness.scaled(20)).pollInterval(POLL)
        .until(() -> count(badAgent.log(), "control plane stream lost") >= 2);
    String line = badAgent.log().lines().filter(l -> l.contains("control plane stream lost")).findFirst().orElseThrow();
    LOG.info("agent with a certificate from another CA logs: {}", line);
    assertThat(line).contains("target=" + cp.address()).contains("status=UNAVAILABLE")
        .containsPattern("reason=\"ssl exception: [^\"]*(?i)certificate[^\"]*\"$");
    assertThat(badAgent.log()).doesNotContain("control plane connected");
    assertThat(badAgent.appliedVersion()).isEmpty();
    assertThat(badAgent.envoyProcesses()).isEmpty();
    assertThat(badAgent.status().path("controlPlaneConnected").asBoolean()).isFalse();
    assertThat(cp.host("bad-host").isMissingNode()).as("the control plane never heard of the refused host").isTrue();
    // No stack traces for an expected failure (docs/observability.md).
    assertThat(badAgent.log()).doesNotContain("\tat ");

    // The agent that trusts another CA refuses the control plane's certificate itself.
    await().atMost(AgentHarness.scaled(20)).pollInterval(POLL)
        .until(() -> untrustingAgent.log().contains("control plane stream lost"));
    String untrustingLine = untrustingAgent.log().lines().filter(l -> l.contains("control plane stream lost"))
        .findFirst().orElseThrow();
    LOG.info("agent that does not trust the control plane's certificate logs: {}", untrustingLine);
    assertThat(untrustingLine).contains("status=UNAVAILABLE")
        .containsPattern("reason=\"\\w+ exception: [^\"]*(?i)certif[^\"]*\"$");
    assertThat(untrustingAgent.appliedVersion()).isEmpty();
    assertThat(untrustingAgent.log()).doesNotContain("control plane connected").doesNotContain("\tat ");
  }

  private static String tlsYaml(Path ca, ItPki.Files2 client) {
    return "{ca_file: " + ca + ", cert_file: " + client.cert() + ", key_file: " + client.key() + "}";
  }

  static int count(String text, String needle) {
    int n = 0;
    for (int i = text.indexOf(needle); i >= 0; i = text.indexOf(needle, i + 1)) {
      n++;
    }
    return n;
  }
}
