package dev.envoyagent.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.envoyagent.api.v1.Protocol;
import dev.envoyagent.api.v1.RouteSnapshot;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class RouteSnapshotsTest {

  static byte[] example() throws IOException {
    try (InputStream in = RouteSnapshotsTest.class.getResourceAsStream("/example-routes.yaml")) {
      return in.readAllBytes();
    }
  }

  static List<String> problems(String yaml) {
    try {
      RouteSnapshots.parse(yaml.getBytes(StandardCharsets.UTF_8));
      return List.of();
    } catch (InvalidInputException e) {
      return e.problems().stream().map(Problem::toString).toList();
    }
  }

  /** A valid one-service document with {@code extra} appended to the service's fields. */
  static String service(String extra) {
    return """
        version: "1"
        services:
          - name: svc
            protocol: HTTP
            local_port: 9101
            endpoints: [ { address: 10.0.0.1, port: 80 } ]
        """
        + extra.indent(4);
  }

  @Test
  void parsesTheDocumentedExample() throws Exception {
    RouteSnapshot snapshot = RouteSnapshots.parse(example());
    assertThat(snapshot.getVersion()).isEqualTo("42");
    assertThat(snapshot.getServicesList())
        .extracting(s -> s.getName())
        .containsExactly("users-api", "users-api-v2", "postgres-main");
    assertThat(snapshot.getServices(0).getEndpoints(1).getWeight()).isEqualTo(2);
    assertThat(snapshot.getServices(0).getEndpoints(0).hasWeight()).isFalse();
    assertThat(snapshot.getServices(0).getRoutes(0).getRetries().getOnList())
        .containsExactly("5xx", "reset");
    assertThat(snapshot.getServices(2).getProtocol()).isEqualTo(Protocol.TCP);
  }

  @Test
  void acceptsJsonAndCamelCaseNames() throws Exception {
    String json =
        """
        {"version": "7", "services": [{"name": "a", "protocol": "TCP", "localPort": 2000,
          "endpoints": [{"address": "::1", "port": 5432}]}]}""";
    RouteSnapshot snapshot = RouteSnapshots.parse(json.getBytes(StandardCharsets.UTF_8));
    assertThat(snapshot.getServices(0).getLocalPort()).isEqualTo(2000);
  }

  @Test
  void anEmptyEndpointListIsValid() {
    assertThat(
            problems(
                """
        version: "1"
        services:
          - { name: empty, protocol: TCP, local_port: 2000, endpoints: [] }
        """))
        .isEmpty();
  }

  @Test
  void reportsEveryProblemAtOnceWithItsPath() {
    assertThat(
            problems(
                """
        version: "1"
        services:
          - name: users-api
            protocol: HTTP
            local_port: 15432
            endpoints: [ { address: 10.0.1, port: 8080 } ]
            routes:
              - match: { prefix: /v2/ }
                targets: [ { service: users-api }, { service: users-v3 } ]
          - name: users-api
            protocol: TCP
            local_port: 15432
            endpoints: []
        """))
        .containsExactly(
            "services[1].name: \"users-api\" is already used by services[0]",
            "services[1].local_port: 15432 is already used by services[0]",
            "services[0].endpoints[0].address: \"10.0.1\" is not a valid IPv4 address",
            "services[0].routes[0].targets[1].service: no service named \"users-v3\"");
  }

  @Test
  void unknownFieldsAndWrongTypesAreNamed() {
    assertThat(
            problems(
                """
        version: 42
        services:
          - name: svc
            protocol: HTTPS
            local_port: "9101"
            endpoint: []
            endpoints: { address: x }
        """))
        .containsExactly(
            "version: expected a string, got number 42 (quote it)",
            "services[0].protocol: \"HTTPS\" is not one of HTTP, HTTP2, GRPC, TCP, THRIFT",
            "services[0].local_port: expected a whole number, got string \"9101\"",
            "services[0].endpoint: unknown field (known fields: name, protocol, local_port, endpoints, routes, "
                + "connect_timeout_ms, circuit_breakers, outlier_detection, health_check, zone_aware)",
            "services[0].endpoints: expected a list, got an object");
  }

  @Test
  void syntaxErrorsAndDuplicateKeysAreReportedWithTheirLine() {
    assertThat(problems("version: \"1\"\nservices: [ {name: a\n"))
        .singleElement()
        .asString()
        .startsWith("syntax error at line");
    assertThat(problems("version: \"1\"\nversion: \"2\"\n"))
        .singleElement()
        .asString()
        .contains("Duplicate field 'version'");
    assertThat(problems("")).containsExactly("the document is empty");
    assertThat(problems("[1, 2]")).containsExactly("expected an object, got a list");
  }

  @ParameterizedTest(name = "{0}")
  @CsvSource(
      delimiter = '|',
      textBlock =
          """
      name                                                   | version: "1"\\nservices: [ { name: '', protocol: TCP, local_port: 2000 } ]                     | services[0].name: must not be empty
      uppercase name                                         | version: "1"\\nservices: [ { name: Users, protocol: TCP, local_port: 2000 } ]                  | services[0].name: "Users" may hold only lowercase letters, digits, '.', '_' and '-', and must start with a letter or digit
      dot-dot name                                           | version: "1"\\nservices: [ { name: '..', protocol: TCP, local_port: 2000 } ]                   | services[0].name: ".." may hold only lowercase letters, digits, '.', '_' and '-', and must start with a letter or digit
      long name                                              | version: "1"\\nservices: [ { name: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa, protocol: TCP, local_port: 2000 } ] | services[0].name: "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" is longer than 63 characters
      no protocol                                            | version: "1"\\nservices: [ { name: a, local_port: 2000 } ]                                     | services[0].protocol: must be set (HTTP, HTTP2, GRPC, TCP or THRIFT)
      unspecified protocol                                   | version: "1"\\nservices: [ { name: a, protocol: PROTOCOL_UNSPECIFIED, local_port: 2000 } ]      | services[0].protocol: "PROTOCOL_UNSPECIFIED" is not one of HTTP, HTTP2, GRPC, TCP, THRIFT
      low port                                               | version: "1"\\nservices: [ { name: a, protocol: TCP, local_port: 80 } ]                        | services[0].local_port: 80 is out of range (1024-65535)
      high port                                              | version: "1"\\nservices: [ { name: a, protocol: TCP, local_port: 70000 } ]                     | services[0].local_port: 70000 is out of range (1024-65535)
      no port                                                | version: "1"\\nservices: [ { name: a, protocol: TCP } ]                                        | services[0].local_port: must be set (1024-65535)
      negative port                                          | version: "1"\\nservices: [ { name: a, protocol: TCP, local_port: -1 } ]                        | services[0].local_port: -1 is negative; must be 0 or more
      empty version                                          | services: []                                                                                  | version: must not be empty
      version with space                                     | version: "a b"                                                                                | version: must be 1-128 printable characters without spaces
      routes on tcp                                          | version: "1"\\nservices: [ { name: a, protocol: TCP, local_port: 2000, routes: [ { match: { prefix: / }, targets: [ { service: a } ] } ] } ] | services[0].routes: only HTTP, HTTP2 and GRPC services can have routes, this one is TCP
      """)
  void serviceRules(String rule, String yaml, String expected) {
    assertThat(problems(yaml.replace("\\n", "\n"))).as(rule).containsExactly(expected);
  }

  @ParameterizedTest(name = "{0}")
  @CsvSource(
      delimiter = '|',
      textBlock =
          """
      empty address       | { address: '', port: 80 }                      | services[0].endpoints[1].address: must not be empty
      bad ipv4            | { address: 10.0.0.256, port: 80 }              | services[0].endpoints[1].address: "10.0.0.256" is not a valid IPv4 address
      bad ipv6            | { address: '2001:db8::g', port: 80 }           | services[0].endpoints[1].address: "2001:db8::g" is not a valid IPv6 address
      bracketed ipv6      | { address: '[::1]', port: 80 }                 | services[0].endpoints[1].address: "[::1]" must be a bare IPv6 address (no brackets, no zone index)
      bad dns             | { address: db_main.example, port: 80 }         | services[0].endpoints[1].address: "db_main.example" is not a valid IP address or DNS name (label "db_main": 1-63 letters, digits or '-', not starting or ending with '-')
      numeric tld         | { address: db.123, port: 80 }                  | services[0].endpoints[1].address: "db.123" is not a valid DNS name (its last label is a number)
      no port             | { address: 10.0.0.2 }                          | services[0].endpoints[1].port: must be set (1-65535)
      port too high       | { address: 10.0.0.2, port: 65536 }             | services[0].endpoints[1].port: 65536 is out of range (1-65535)
      zero weight         | { address: 10.0.0.2, port: 80, weight: 0 }     | services[0].endpoints[1].weight: 0 is out of range (1-10000)
      huge weight         | { address: 10.0.0.2, port: 80, weight: 20000 } | services[0].endpoints[1].weight: 20000 is out of range (1-10000)
      bad zone            | { address: 10.0.0.2, port: 80, zone: US East } | services[0].endpoints[1].zone: "US East" must be lowercase letters, digits and '-' (e.g. us-east-1a)
      duplicate endpoint  | { address: 10.0.0.1, port: 80 }                | services[0].endpoints[1]: 10.0.0.1:80 is already listed as endpoints[0]
      float port          | { address: 10.0.0.2, port: 80.5 }              | services[0].endpoints[1].port: expected a whole number, got 80.5
      """)
  void endpointRules(String rule, String endpoint, String expected) {
    String yaml =
        """
        version: "1"
        services:
          - name: svc
            protocol: HTTP
            local_port: 9101
            endpoints: [ { address: 10.0.0.1, port: 80 }, %s ]
        """
            .formatted(endpoint);
    assertThat(problems(yaml)).as(rule).containsExactly(expected);
  }

  @ParameterizedTest(name = "{0}")
  @CsvSource(
      delimiter = '|',
      textBlock =
          """
      no match            | routes: [ { targets: [ { service: svc } ] } ]                                        | services[0].routes[0].match: must be set (prefix, path or regex)
      empty match         | routes: [ { match: {}, targets: [ { service: svc } ] } ]                             | services[0].routes[0].match: must set one of prefix, path or regex
      two specifiers      | routes: [ { match: { prefix: /, path: /a }, targets: [ { service: svc } ] } ]         | services[0].routes[0].match.path: cannot be set together with prefix (set only one of prefix, path, regex)
      relative prefix     | routes: [ { match: { prefix: v2 }, targets: [ { service: svc } ] } ]                 | services[0].routes[0].match.prefix: "v2" must start with '/'
      relative path       | routes: [ { match: { path: v2 }, targets: [ { service: svc } ] } ]                   | services[0].routes[0].match.path: "v2" must start with '/'
      bad regex           | routes: [ { match: { regex: '/a(' }, targets: [ { service: svc } ] } ]               | services[0].routes[0].match.regex: is not a valid regular expression: Unclosed group
      lookahead regex     | routes: [ { match: { regex: '/(?!admin).*' }, targets: [ { service: svc } ] } ]      | services[0].routes[0].match.regex: uses look-around or back-references, which Envoy's RE2 engine does not support
      bad header          | routes: [ { match: { prefix: /, headers: [ { name: X-Env, exact: a } ] }, targets: [ { service: svc } ] } ] | services[0].routes[0].match.headers[0].name: "X-Env" is not a lowercase HTTP header name
      no targets          | routes: [ { match: { prefix: / } } ]                                                 | services[0].routes[0].targets: must name at least one service
      dangling target     | routes: [ { match: { prefix: / }, targets: [ { service: users-v3 } ] } ]             | services[0].routes[0].targets[0].service: no service named "users-v3"
      tcp target          | routes: [ { match: { prefix: / }, targets: [ { service: db } ] } ]                   | services[0].routes[0].targets[0].service: "db" is a TCP service; HTTP routes can only send to HTTP, HTTP2 or GRPC services
      zero weights        | routes: [ { match: { prefix: / }, targets: [ { service: svc, weight: 0 } ] } ]       | services[0].routes[0].targets: weights add up to 0; at least one target needs a weight above 0
      twice the same      | routes: [ { match: { prefix: / }, targets: [ { service: svc }, { service: svc } ] } ] | services[0].routes[0].targets[1].service: "svc" is named twice in this route
      zero timeout        | routes: [ { match: { prefix: / }, targets: [ { service: svc } ], timeout_ms: 0 } ]   | services[0].routes[0].timeout_ms: 0 is out of range (1-3600000)
      too many retries    | routes: [ { match: { prefix: / }, targets: [ { service: svc } ], retries: { attempts: 11, on: [ 5xx ] } } ] | services[0].routes[0].retries.attempts: 11 is out of range (0-10)
      retries without on  | routes: [ { match: { prefix: / }, targets: [ { service: svc } ], retries: { attempts: 2 } } ] | services[0].routes[0].retries.on: must list at least one condition when attempts is above 0 (e.g. 5xx, reset)
      """)
  void routeRules(String rule, String routes, String expected) {
    String yaml =
        service(routes)
            + """
          - { name: db, protocol: TCP, local_port: 15432 }
        """;
    assertThat(problems(yaml)).as(rule).containsExactly(expected);
  }

  @Test
  void unknownRetryConditionListsTheKnownOnes() {
    assertThat(
            problems(
                service(
                    "routes: [ { match: { prefix: / }, targets: [ { service: svc } ], "
                        + "retries: { attempts: 1, on: [ 500s ] } } ]")))
        .singleElement()
        .asString()
        .startsWith(
            "services[0].routes[0].retries.on[0]: \"500s\" is not a retry condition Envoy knows (5xx, cancelled,");
  }

  @ParameterizedTest(name = "{0}")
  @CsvSource(
      delimiter = '|',
      textBlock =
          """
      connect timeout      | connect_timeout_ms: 0                                    | services[0].connect_timeout_ms: 0 is out of range (1-600000)
      max connections      | 'circuit_breakers: { max_connections: 0 }'               | services[0].circuit_breakers.max_connections: 0 is out of range (1-1000000)
      max pending          | 'circuit_breakers: { max_pending_requests: 0 }'          | services[0].circuit_breakers.max_pending_requests: 0 is out of range (1-1000000)
      max requests         | 'circuit_breakers: { max_requests: 0 }'                  | services[0].circuit_breakers.max_requests: 0 is out of range (1-1000000)
      max retries          | 'circuit_breakers: { max_retries: 2000000 }'             | services[0].circuit_breakers.max_retries: 2000000 is out of range (0-1000000)
      consecutive 5xx      | 'outlier_detection: { consecutive_5xx: 0 }'              | services[0].outlier_detection.consecutive_5xx: 0 is out of range (1-1000)
      outlier interval     | 'outlier_detection: { interval_ms: 10 }'                 | services[0].outlier_detection.interval_ms: 10 is out of range (100-3600000)
      ejection time        | 'outlier_detection: { base_ejection_time_ms: 10 }'       | services[0].outlier_detection.base_ejection_time_ms: 10 is out of range (100-3600000)
      ejection percent     | 'outlier_detection: { max_ejection_percent: 101 }'       | services[0].outlier_detection.max_ejection_percent: 101 is out of range (0-100)
      relative check path  | 'health_check: { http_path: health }'                    | services[0].health_check.http_path: "health" must start with '/'
      check interval       | 'health_check: { interval_ms: 5 }'                       | services[0].health_check.interval_ms: 5 is out of range (100-3600000)
      check timeout        | 'health_check: { timeout_ms: 0 }'                        | services[0].health_check.timeout_ms: 0 is out of range (1-3600000)
      timeout > interval   | 'health_check: { interval_ms: 1000, timeout_ms: 2000 }'  | services[0].health_check.timeout_ms: 2000 is longer than interval_ms 1000
      healthy threshold    | 'health_check: { healthy_threshold: 0 }'                 | services[0].health_check.healthy_threshold: 0 is out of range (1-100)
      unhealthy threshold  | 'health_check: { unhealthy_threshold: 101 }'             | services[0].health_check.unhealthy_threshold: 101 is out of range (1-100)
      """)
  void trafficPolicyRules(String rule, String policy, String expected) {
    assertThat(problems(service(policy))).as(rule).containsExactly(expected);
  }

  @Test
  void anHttpCheckOnATcpServiceIsRefused() {
    assertThat(
            problems(
                """
        version: "1"
        services: [ { name: db, protocol: TCP, local_port: 2000, health_check: { http_path: /health } } ]
        """))
        .containsExactly(
            "services[0].health_check.http_path: an HTTP check needs an HTTP, HTTP2 or GRPC "
                + "service; leave it out for a TCP connect check");
  }

  @Test
  void aMissingFileIsAProblemNotACrash() {
    assertThatThrownBy(() -> RouteSnapshots.load(java.nio.file.Path.of("/nonexistent/routes.yaml")))
        .isInstanceOf(InvalidInputException.class)
        .hasMessageContaining("no such file: /nonexistent/routes.yaml");
  }
}
