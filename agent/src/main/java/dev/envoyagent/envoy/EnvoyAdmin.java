package dev.envoyagent.envoy;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;

/** The parts of Envoy's admin API the agent uses. */
public interface EnvoyAdmin {

  /** {@code GET /server_info}: who answered (epoch), and in what state. */
  ServerInfo serverInfo() throws IOException;

  /**
   * {@code GET /config_dump} without endpoints: at 10,000 services {@code include_eds} would be
   * most of the answer, and nothing the agent reads is there (Envoy does not report EDS versions).
   */
  JsonNode configDump() throws IOException;

  /**
   * {@code GET /stats?format=json&filter=RE} as name → value: counters and gauges as decimal
   * numbers, text readouts (such as a subscription's {@code version_text}) as their text. The RE2
   * filter keeps a large Envoy from sending every stat.
   */
  java.util.Map<String, String> stats(String filter) throws IOException;

  /** {@code GET /clusters?format=json} summarised: cluster name → healthy and total hosts. */
  java.util.Map<String, UpstreamCount> upstreamHealth() throws IOException;

  record UpstreamCount(int healthy, int total) {}

  /**
   * A mutating call, e.g. {@code /healthcheck/fail} or {@code /drain_listeners?graceful}; true on
   * 200.
   */
  boolean post(String pathAndQuery) throws IOException;

  record ServerInfo(
      String state,
      int restartEpoch,
      String hotRestartVersion,
      String version,
      long uptimeCurrentEpochS) {
    public boolean live() {
      return "LIVE".equals(state);
    }
  }
}
