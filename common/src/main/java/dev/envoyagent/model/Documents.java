package dev.envoyagent.model;

import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.MissingNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import java.io.IOException;
import java.util.List;

/**
 * Reads YAML or JSON documents into a tree. JSON is a subset of YAML, so one YAML reader takes
 * both; duplicate keys are refused because silently keeping the last one hides typos.
 */
public final class Documents {

  private static final ObjectMapper YAML =
      new ObjectMapper(
          YAMLFactory.builder().enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION).build());

  private Documents() {}

  /** A parsed document, or the syntax problem that stopped parsing. */
  public record Parsed(JsonNode tree, List<Problem> problems) {
    public boolean ok() {
      return problems.isEmpty();
    }
  }

  public static Parsed parse(byte[] content) {
    try {
      JsonNode tree = YAML.readTree(content);
      if (tree == null || tree.isMissingNode() || tree.isNull()) {
        return new Parsed(
            MissingNode.getInstance(), List.of(new Problem("", "the document is empty")));
      }
      return new Parsed(tree, List.of());
    } catch (JsonProcessingException e) {
      return new Parsed(MissingNode.getInstance(), List.of(new Problem("", syntaxError(e))));
    } catch (IOException e) {
      return new Parsed(
          MissingNode.getInstance(), List.of(new Problem("", "unreadable: " + e.getMessage())));
    }
  }

  private static String syntaxError(JsonProcessingException e) {
    JsonLocation where = e.getLocation();
    String message = e.getOriginalMessage();
    int cut = message.indexOf('\n');
    if (cut > 0) {
      message = message.substring(0, cut);
    }
    return where == null
        ? "syntax error: " + message
        : "syntax error at line "
            + where.getLineNr()
            + ", column "
            + where.getColumnNr()
            + ": "
            + message;
  }
}
