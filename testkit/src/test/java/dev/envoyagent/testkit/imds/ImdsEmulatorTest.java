package dev.envoyagent.testkit.imds;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.Map;
import org.bouncycastle.cms.CMSSignedData;
import org.bouncycastle.cms.SignerInformation;
import org.bouncycastle.cms.jcajce.JcaSimpleSignerInfoVerifierBuilder;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class ImdsEmulatorTest {
  private static final Instant T0 = Instant.parse("2025-06-01T12:00:00Z");
  private static final String META = "/latest/meta-data/";

  private final HttpClient http =
      HttpClient.newBuilder()
          .version(HttpClient.Version.HTTP_1_1)
          .connectTimeout(Duration.ofSeconds(5))
          .build();
  private final ManualClock clock = new ManualClock(T0);
  private ImdsEmulator imds;

  @BeforeEach
  void start() {
    imds = ImdsEmulator.builder().clock(clock).start();
  }

  @AfterEach
  void stop() {
    imds.close();
  }

  @Test
  void tokenTtlMustBeBetweenOneAndSixHoursAndIsEchoed() throws Exception {
    for (String bad : new String[] {"0", "21601", "-1", "abc", ""}) {
      assertThat(putToken(bad).statusCode()).as("ttl %s", bad).isEqualTo(400);
    }
    assertThat(
            send(HttpRequest.newBuilder(uri(ImdsEmulator.TOKEN_PATH))
                    .PUT(HttpRequest.BodyPublishers.noBody())
                    .build())
                .statusCode())
        .as("no ttl")
        .isEqualTo(400);
    for (String good : new String[] {"1", "21600"}) {
      HttpResponse<String> r = putToken(good);
      assertThat(r.statusCode()).isEqualTo(200);
      assertThat(r.body()).isNotBlank();
      assertThat(r.headers().firstValue("x-aws-ec2-metadata-token-ttl-seconds")).hasValue(good);
    }
    assertThat(imds.tokensIssued()).isEqualTo(2);
  }

  @Test
  void tokenRequestsThroughAProxyAreRefused() throws Exception {
    HttpResponse<String> r =
        send(
            HttpRequest.newBuilder(uri(ImdsEmulator.TOKEN_PATH))
                .header(ImdsEmulator.TTL_HEADER, "60")
                .header("X-Forwarded-For", "203.0.113.9")
                .PUT(HttpRequest.BodyPublishers.noBody())
                .build());
    assertThat(r.statusCode()).isEqualTo(403);
    assertThat(
            send(HttpRequest.newBuilder(uri(ImdsEmulator.TOKEN_PATH)).GET().build()).statusCode())
        .isEqualTo(405);
  }

  @Test
  void dataNeedsAValidTokenAndNeverFallsBackToImdsV1() throws Exception {
    HttpResponse<String> none =
        send(HttpRequest.newBuilder(uri(META + "instance-id")).GET().build());
    assertThat(none.statusCode()).isEqualTo(401);
    assertThat(none.body()).contains("401 - Unauthorized");
    assertThat(get(META + "instance-id", "not-a-token").statusCode()).isEqualTo(401);

    imds.unauthorizedWithBody(false);
    HttpResponse<String> empty = get(META + "instance-id", "not-a-token");
    assertThat(empty.statusCode()).isEqualTo(401);
    assertThat(empty.body()).isEmpty();
  }

  @Test
  void tokensExpireAfterTheirTtl() throws Exception {
    String token = putToken("60").body();
    assertThat(get(META + "instance-id", token).statusCode()).isEqualTo(200);
    clock.advance(Duration.ofSeconds(59));
    assertThat(get(META + "instance-id", token).statusCode()).isEqualTo(200);
    clock.advance(Duration.ofSeconds(1));
    assertThat(get(META + "instance-id", token).statusCode()).isEqualTo(401);
  }

  @Test
  void invalidatingTokensMakesOldOnesFail() throws Exception {
    String token = putToken("21600").body();
    imds.invalidateAllTokens();
    assertThat(get(META + "instance-id", token).statusCode()).isEqualTo(401);
    assertThat(get(META + "instance-id", putToken("21600").body()).statusCode()).isEqualTo(200);
  }

  @Test
  void headerNamesAreCaseInsensitive() throws Exception {
    HttpResponse<String> t =
        send(
            HttpRequest.newBuilder(uri(ImdsEmulator.TOKEN_PATH))
                .header("X-AWS-EC2-METADATA-TOKEN-TTL-SECONDS", "30")
                .PUT(HttpRequest.BodyPublishers.noBody())
                .build());
    assertThat(t.statusCode()).isEqualTo(200);
    HttpResponse<String> r =
        send(
            HttpRequest.newBuilder(uri(META + "instance-id"))
                .header("x-aws-EC2-metadata-TOKEN", t.body())
                .GET()
                .build());
    assertThat(r.statusCode()).isEqualTo(200);
  }

  @Test
  void servesTheStaticPathsAsTextAndListsWithLineFeeds() throws Exception {
    String token = putToken("21600").body();
    InstanceProfile p = imds.profile();
    Map<String, String> expected =
        Map.of(
            "instance-id",
            p.instanceId(),
            "instance-type",
            p.instanceType(),
            "ami-id",
            p.amiId(),
            "local-hostname",
            "ip-10-0-1-23.ec2.internal",
            "local-ipv4",
            p.privateIpv4(),
            "mac",
            p.mac(),
            "placement/availability-zone",
            "us-east-1a",
            "placement/availability-zone-id",
            "use1-az4",
            "placement/region",
            "us-east-1");
    for (Map.Entry<String, String> e : expected.entrySet()) {
      HttpResponse<String> r = get(META + e.getKey(), token);
      assertThat(r.statusCode()).as(e.getKey()).isEqualTo(200);
      assertThat(r.body()).as(e.getKey()).isEqualTo(e.getValue());
      assertThat(r.headers().firstValue("content-type")).hasValue("text/plain");
    }
    assertThat(get(META + "placement", token).body())
        .isEqualTo("availability-zone\navailability-zone-id\nregion");
    assertThat(get(META, token).body()).contains("instance-id\n", "placement/\n", "tags/");
    assertThat(get(META + "network/interfaces/macs/" + p.mac() + "/local-ipv4s", token).body())
        .isEqualTo(p.privateIpv4());
  }

  @Test
  void absentItemsAre404() throws Exception {
    String token = putToken("21600").body();
    for (String path :
        new String[] {
          "spot/instance-action",
          "autoscaling/target-lifecycle-state",
          "events/maintenance/scheduled",
          "events/recommendations/rebalance",
          "no-such-thing"
        }) {
      assertThat(get(META + path, token).statusCode()).as(path).isEqualTo(404);
    }
  }

  @Test
  void tagsCanBeSwitchedOnAndOff() throws Exception {
    String token = putToken("21600").body();
    assertThat(get(META + "tags/instance", token).body()).isEqualTo("Name\nteam");
    assertThat(get(META + "tags/instance/team", token).body()).isEqualTo("platform");
    imds.tagsEnabled(false);
    assertThat(get(META + "tags/instance", token).statusCode()).isEqualTo(404);
    assertThat(get(META + "tags/instance/team", token).statusCode()).isEqualTo(404);
  }

  @Test
  void spotNoticeIsTwoMinutesAheadAndLifecycleIsScriptable() throws Exception {
    String token = putToken("21600").body();
    imds.spotInterruption("terminate");
    JsonNode spot = new ObjectMapper().readTree(get(META + "spot/instance-action", token).body());
    assertThat(spot.get("action").asText()).isEqualTo("terminate");
    assertThat(Instant.parse(spot.get("time").asText())).isEqualTo(T0.plusSeconds(120));
    imds.clearSpotInterruption();
    assertThat(get(META + "spot/instance-action", token).statusCode()).isEqualTo(404);

    imds.lifecycleState("InService");
    assertThat(get(META + "autoscaling/target-lifecycle-state", token).body())
        .isEqualTo("InService");
    imds.lifecycleState("Terminated");
    assertThat(get(META + "autoscaling/target-lifecycle-state", token).body())
        .isEqualTo("Terminated");

    imds.maintenanceEvents("[]");
    assertThat(get(META + "events/maintenance/scheduled", token).body()).isEqualTo("[]");
    imds.rebalanceRecommendation(T0);
    assertThat(get(META + "events/recommendations/rebalance", token).body())
        .isEqualTo("{\"noticeTime\":\"2025-06-01T12:00:00Z\"}");
  }

  @Test
  void identityDocumentIsSignedWithTheTestCertificate() throws Exception {
    String token = putToken("21600").body();
    String doc = get("/latest/dynamic/instance-identity/document", token).body();
    JsonNode json = new ObjectMapper().readTree(doc);
    assertThat(json.get("instanceId").asText()).isEqualTo("i-0123456789abcdef0");
    assertThat(json.get("availabilityZone").asText()).isEqualTo("us-east-1a");
    assertThat(json.get("region").asText()).isEqualTo("us-east-1");
    assertThat(json.get("privateIp").asText()).isEqualTo("10.0.1.23");
    assertThat(json.get("accountId").asText()).isEqualTo("123456789012");
    assertThat(json.get("pendingTime").asText()).isEqualTo("2025-06-01T12:00:00Z");
    assertThat(doc).isEqualTo(imds.identityDocument()).contains("\"instanceId\" : ");

    String rsa2048 = get("/latest/dynamic/instance-identity/rsa2048", token).body();
    CMSSignedData signed = new CMSSignedData(Base64.getMimeDecoder().decode(rsa2048));
    assertThat(new String((byte[]) signed.getSignedContent().getContent(), StandardCharsets.UTF_8))
        .isEqualTo(doc);
    assertThat(signed.getCertificates().getMatches(null)).as("AWS ships no certificate").isEmpty();
    SignerInformation signer = signed.getSignerInfos().getSigners().iterator().next();
    assertThat(
            signer.verify(
                new JcaSimpleSignerInfoVerifierBuilder().build(imds.signer().certificate())))
        .isTrue();
  }

  @Test
  void injectedFaultsAnswerWithAndWithoutBodyThenStop() throws Exception {
    String token = putToken("21600").body();
    imds.injectFault(Fault.of(503, true), 1);
    HttpResponse<String> first = get(META + "instance-id", token);
    assertThat(first.statusCode()).isEqualTo(503);
    assertThat(first.body()).isNotEmpty();
    assertThat(get(META + "instance-id", token).statusCode()).isEqualTo(200);

    imds.injectFault(new Fault(500, false, ImdsEmulator.TOKEN_PATH), Integer.MAX_VALUE);
    HttpResponse<String> t = putToken("60");
    assertThat(t.statusCode()).isEqualTo(500);
    assertThat(t.body()).isEmpty();
    assertThat(get(META + "instance-id", token).statusCode())
        .as("other paths unaffected")
        .isEqualTo(200);
    imds.clearFault();
    assertThat(putToken("60").statusCode()).isEqualTo(200);
    assertThat(imds.count(ImdsEmulator.TOKEN_PATH, 500)).isEqualTo(1);
  }

  @Test
  void delaysHoldResponses() throws Exception {
    String token = putToken("21600").body();
    imds.delayResponses(Duration.ofMillis(300), 1);
    long start = System.nanoTime();
    assertThat(get(META + "instance-id", token).statusCode()).isEqualTo(200);
    assertThat(Duration.ofNanos(System.nanoTime() - start))
        .isGreaterThanOrEqualTo(Duration.ofMillis(300));
    HttpResponse<String> timedOut = null;
    imds.delayResponses(Duration.ofSeconds(5), Integer.MAX_VALUE);
    try {
      timedOut =
          http.send(
              HttpRequest.newBuilder(uri(META + "instance-id"))
                  .timeout(Duration.ofMillis(200))
                  .header(ImdsEmulator.TOKEN_HEADER, token)
                  .GET()
                  .build(),
              HttpResponse.BodyHandlers.ofString());
    } catch (java.net.http.HttpTimeoutException expected) {
      // a stalled IMDS looks like this to a client
    }
    assertThat(timedOut).isNull();
  }

  @Test
  void controlApiScriptsTheEmulatorOverHttp() throws Exception {
    String token = putToken("21600").body();
    assertThat(post("/_emulator/spot?action=stop&in_s=90").statusCode()).isEqualTo(200);
    assertThat(get(META + "spot/instance-action", token).body())
        .isEqualTo("{\"action\":\"stop\",\"time\":\"2025-06-01T12:01:30Z\"}");
    assertThat(post("/_emulator/lifecycle?state=Terminated").statusCode()).isEqualTo(200);
    assertThat(get(META + "autoscaling/target-lifecycle-state", token).body())
        .isEqualTo("Terminated");
    assertThat(post("/_emulator/tags?enabled=false").statusCode()).isEqualTo(200);
    assertThat(get(META + "tags/instance", token).statusCode()).isEqualTo(404);
    assertThat(post("/_emulator/fault?status=502&count=1&body=false").statusCode()).isEqualTo(200);
    assertThat(get(META + "instance-id", token).statusCode()).isEqualTo(502);
    assertThat(post("/_emulator/invalidate-tokens").statusCode()).isEqualTo(200);
    assertThat(get(META + "instance-id", token).statusCode()).isEqualTo(401);
    assertThat(post("/_emulator/fault?status=abc").statusCode()).isEqualTo(400);
    assertThat(post("/_emulator/nonsense").statusCode()).isEqualTo(400);
    assertThat(send(HttpRequest.newBuilder(uri("/_emulator/certificate")).GET().build()).body())
        .startsWith("-----BEGIN CERTIFICATE-----");
  }

  @Test
  void commandLineOptionsShapeTheProfile() {
    ImdsEmulatorMain.Options o =
        ImdsEmulatorMain.Options.parse(
            new String[] {
              "--port",
              "1338",
              "--instance-id",
              "i-0abc",
              "--zone",
              "eu-west-1b",
              "--zone-id",
              "euw1-az2",
              "--tags",
              "off",
              "--tag",
              "role=edge",
              "--lifecycle",
              "InService"
            });
    assertThat(o.port()).isEqualTo(1338);
    assertThat(o.tags()).isFalse();
    assertThat(o.lifecycle()).isEqualTo("InService");
    assertThat(o.profile().instanceId()).isEqualTo("i-0abc");
    assertThat(o.profile().region()).isEqualTo("eu-west-1");
    assertThat(o.profile().availabilityZone()).isEqualTo("eu-west-1b");
    assertThat(o.profile().availabilityZoneId()).isEqualTo("euw1-az2");
    assertThat(o.profile().tags()).containsEntry("role", "edge").containsKey("Name");
    assertThat(o.profile().localHostname()).isEqualTo("ip-10-0-1-23.eu-west-1.compute.internal");
  }

  private URI uri(String path) {
    return imds.endpoint().resolve(path);
  }

  private HttpResponse<String> putToken(String ttl) throws Exception {
    return send(
        HttpRequest.newBuilder(uri(ImdsEmulator.TOKEN_PATH))
            .header(ImdsEmulator.TTL_HEADER, ttl)
            .PUT(HttpRequest.BodyPublishers.noBody())
            .build());
  }

  private HttpResponse<String> get(String path, String token) throws Exception {
    return send(
        HttpRequest.newBuilder(uri(path)).header(ImdsEmulator.TOKEN_HEADER, token).GET().build());
  }

  private HttpResponse<String> post(String pathAndQuery) throws Exception {
    return send(
        HttpRequest.newBuilder(uri(pathAndQuery))
            .POST(HttpRequest.BodyPublishers.noBody())
            .build());
  }

  private HttpResponse<String> send(HttpRequest request) throws Exception {
    return http.send(request, HttpResponse.BodyHandlers.ofString());
  }
}
