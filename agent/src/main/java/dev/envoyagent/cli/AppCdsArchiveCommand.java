package dev.envoyagent.cli;

import java.io.IOException;
import java.io.InputStream;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * Writes an AppCDS archive (JDK 17's dynamic archive) of the classes the agent loads to start Envoy
 * from its routes. Half of a cold start is loading and verifying those classes, the Envoy API above
 * all; with the archive mapped, the agent serves its last known good routes about twice as fast
 * after a reboot. The archive only fits the JVM and jar it was written with, so it is written where
 * the agent runs (the build, the package's postinst) and the launcher passes it on; a JVM that does
 * not match ignores it and starts the slow way.
 */
@Command(
    name = "appcds-archive",
    aliases = "cds-archive",
    description = {
      "Writes an AppCDS (class data sharing) archive for this JVM and agent jar, so that the agent"
          + " starts faster.",
      "The launcher uses ENVOY_AGENT_APPCDS_ARCHIVE, or envoy-agent.jsa beside it, when the file is"
          + " there.",
      "'cds-archive' is a deprecated alias (CDS means Cluster Discovery Service in Envoy); it goes"
          + " away in the next release."
    })
final class AppCdsArchiveCommand implements Callable<Integer> {

  static final String TRAINING_RESOURCES = "/dev/envoyagent/cli/appcds-training/";
  static final long TIMEOUT_S = 180;

  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  @Option(
      names = "--out",
      required = true,
      paramLabel = "FILE",
      description =
          "The archive to write; replaced atomically, so a running agent keeps the one it mapped.")
  Path out;

  @Override
  public Integer call() throws IOException, InterruptedException {
    PrintWriter stdout = spec.commandLine().getOut();
    PrintWriter err = spec.commandLine().getErr();
    if (spec.parent() != null
        && spec.parent().commandLine().getParseResult().originalArgs().contains("cds-archive")) {
      err.println("envoy-agent: 'cds-archive' is deprecated; use 'appcds-archive'");
    }
    Path jar = ownJar();
    if (jar == null) {
      err.println(
          "appcds-archive: the agent does not run from a jar file, so there is nothing to archive");
      return ExitCodes.INVALID;
    }
    Path target = out.toAbsolutePath().normalize();
    Path parent = target.getParent();
    if (!Files.isDirectory(parent) || !Files.isWritable(parent)) {
      err.println(
          "appcds-archive: --out "
              + target
              + ": directory "
              + parent
              + " does not exist or is not writable");
      return ExitCodes.INVALID;
    }
    Path partial =
        parent.resolve("." + target.getFileName() + ".partial-" + ProcessHandle.current().pid());
    Path training = Files.createTempDirectory("envoy-agent-cds-");
    try {
      List<String> command = trainingCommand(jar, partial, unpackTraining(training));
      Process process =
          new ProcessBuilder(command)
              .redirectErrorStream(true)
              .redirectOutput(training.resolve("training.log").toFile())
              .start();
      if (!process.waitFor(TIMEOUT_S, TimeUnit.SECONDS)) {
        process.destroyForcibly();
        err.println(
            "appcds-archive: the training run did not finish within "
                + TIMEOUT_S
                + " s; no archive written");
        return ExitCodes.INVALID;
      }
      if (process.exitValue() != 0 || !Files.isRegularFile(partial) || Files.size(partial) == 0) {
        err.println(
            "appcds-archive: the training run failed (exit "
                + process.exitValue()
                + "); no archive written: "
                + lastLines(training.resolve("training.log")));
        return ExitCodes.INVALID;
      }
      Files.setPosixFilePermissions(partial, PosixFilePermissions.fromString("rw-r--r--"));
      Files.move(
          partial, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
      stdout.printf(
          "wrote %s (%d MB) for java %s and %s%n",
          target, Files.size(target) >> 20, Runtime.version(), jar);
      return ExitCodes.OK;
    } finally {
      Files.deleteIfExists(partial);
      deleteTree(training);
    }
  }

  /**
   * A JVM like the launcher's (same jar on the class path, same collector) that renders the
   * training routes with the training config, then writes what it loaded to {@code archive}.
   */
  static List<String> trainingCommand(Path jar, Path archive, Path training) {
    return List.of(
        Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-XX:ArchiveClassesAtExit=" + archive,
        "-XX:+UseSerialGC",
        "-Xmx256m",
        "-cp",
        jar.toString(),
        AppCdsTraining.class.getName(),
        "render",
        "--config",
        training.resolve("agent.yaml").toString(),
        "--routes",
        training.resolve("routes.yaml").toString(),
        "--out",
        training.resolve("out").toString());
  }

  private static Path unpackTraining(Path dir) throws IOException {
    for (String name : List.of("agent.yaml", "routes.yaml")) {
      try (InputStream in =
          AppCdsArchiveCommand.class.getResourceAsStream(TRAINING_RESOURCES + name)) {
        if (in == null) {
          throw new IOException("training resource " + name + " is missing from the jar");
        }
        Files.copy(in, dir.resolve(name));
      }
    }
    return dir;
  }

  private static Path ownJar() {
    try {
      Path location =
          Path.of(
              AppCdsArchiveCommand.class
                  .getProtectionDomain()
                  .getCodeSource()
                  .getLocation()
                  .toURI());
      return Files.isRegularFile(location) ? location : null;
    } catch (URISyntaxException | SecurityException e) {
      return null;
    }
  }

  private static String lastLines(Path log) throws IOException {
    List<String> lines = Files.readAllLines(log, StandardCharsets.UTF_8);
    return String.join(" | ", lines.subList(Math.max(0, lines.size() - 5), lines.size()));
  }

  private static void deleteTree(Path dir) throws IOException {
    try (Stream<Path> paths = Files.walk(dir)) {
      paths
          .sorted(Comparator.reverseOrder())
          .forEach(
              path -> {
                try {
                  Files.delete(path);
                } catch (IOException e) {
                  throw new UncheckedIOException(e);
                }
              });
    }
  }
}
