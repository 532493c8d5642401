package dev.envoyagent.envoy;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;

/** The parts of Envoy's admin API the agent uses. */
public interface EnvoyAdmin {

  /** {@code GET /server_info}: who answered (epoch), and in what state. */
  ServerInfo serverInfo() throws IOException;

  /** {@code GET /config_dump?include_eds}. */
  JsonNode configDump() throws IOException;

  /** {@code GET /stats?format=json} as name → value, counters and gauges only. */
  java.util.Map<String, Long> stats() throws IOException;

  /** {@code GET /clusters?format=json} summarised: cluster name → healthy and total hosts. */
  java.util.Map<String, UpstreamCount> upstreamHealth() throws IOException;

  record UpstreamCount(int healthy, int total) {}

  /** A mutating call, e.g. {@code /healthcheck/fail} or {@code /drain_listeners?graceful}; true on 200. */
  boolean post(String pathAndQuery) throws IOException;

  record ServerInfo(String state, int restartEpoch, String hotRestartVersion, String version, long uptimeCurrentEpochS) {
    public boolean live() {
      return "LIVE".equals(state);
    }
  }
}
