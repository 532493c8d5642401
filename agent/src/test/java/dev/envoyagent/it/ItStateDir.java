package dev.envoyagent.it;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** An agent's state_dir as the end-to-end tests read it, whichever harness started the agent. */
final class ItStateDir {

  private static final ObjectMapper JSON = new ObjectMapper();

  private ItStateDir() {}

  /** status.json, or null while it does not exist yet. */
  static JsonNode status(Path stateDir) {
    try {
      return JSON.readTree(stateDir.resolve("status.json").toFile());
    } catch (IOException e) {
      return null;
    }
  }

  /** What Envoy wrote to envoy.log, or "" before it exists. */
  static String envoyLog(Path stateDir) {
    try {
      return Files.readString(stateDir.resolve("envoy.log"));
    } catch (IOException e) {
      return "";
    }
  }
}
