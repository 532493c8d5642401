package dev.envoyagent.envoy;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.envoyagent.support.AtomicFiles;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The Envoy processes the agent started, on disk, so that an agent that crashed or was upgraded can
 * adopt the Envoy still serving instead of starting another one.
 */
public final class ProcessTable {

  private static final Logger LOG = LoggerFactory.getLogger(ProcessTable.class);
  private static final ObjectMapper JSON = new ObjectMapper();

  private final Path file;

  public ProcessTable(Path file) {
    this.file = file;
  }

  public Path file() {
    return file;
  }

  public void save(List<EnvoyProcess> processes) throws IOException {
    AtomicFiles.write(file, JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(processes));
  }

  /** What was saved; an unreadable table is reported and treated as empty (nothing to adopt). */
  public List<EnvoyProcess> load() {
    if (!Files.exists(file)) {
      return List.of();
    }
    try {
      return List.copyOf(JSON.readValue(file.toFile(), new TypeReference<List<EnvoyProcess>>() {}));
    } catch (IOException e) {
      LOG.warn(
          "process table unreadable, adopting nothing file={} reason={}", file, e.getMessage());
      return List.of();
    }
  }
}
