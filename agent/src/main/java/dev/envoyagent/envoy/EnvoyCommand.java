package dev.envoyagent.envoy;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Envoy's command line for one epoch; the flags every epoch of one Envoy must share are fixed here.
 */
public record EnvoyCommand(
    Path binary,
    Path bootstrap,
    int epoch,
    int baseId,
    int drainTimeS,
    int parentShutdownTimeS,
    int concurrency,
    String serviceNode,
    String serviceCluster) {

  public List<String> argv() {
    List<String> argv =
        new ArrayList<>(
            List.of(
                binary.toString(),
                "-c",
                bootstrap.toString(),
                "--restart-epoch",
                Integer.toString(epoch),
                "--base-id",
                Integer.toString(baseId),
                "--drain-time-s",
                Integer.toString(drainTimeS),
                "--parent-shutdown-time-s",
                Integer.toString(parentShutdownTimeS),
                "--drain-strategy",
                "gradual",
                "--concurrency",
                Integer.toString(concurrency)));
    if (!serviceNode.isEmpty()) {
      argv.addAll(List.of("--service-node", serviceNode));
    }
    if (!serviceCluster.isEmpty()) {
      argv.addAll(List.of("--service-cluster", serviceCluster));
    }
    return argv;
  }
}
