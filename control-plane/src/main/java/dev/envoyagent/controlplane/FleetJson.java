package dev.envoyagent.controlplane;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.nio.charset.StandardCharsets;

/**
 * {@link FleetView} as the JSON of {@code GET /fleet}: snake_case names, like the rest of the
 * project.
 */
public final class FleetJson {

  private static final ObjectMapper MAPPER =
      new ObjectMapper()
          .setPropertyNamingStrategy(PropertyNamingStrategies.SNAKE_CASE)
          .enable(SerializationFeature.INDENT_OUTPUT);

  private FleetJson() {}

  public static byte[] write(FleetView view) {
    try {
      return (MAPPER.writeValueAsString(view) + "\n").getBytes(StandardCharsets.UTF_8);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException(
          "a FleetView holds only strings, numbers and lists: it always prints", e);
    }
  }
}
