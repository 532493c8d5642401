package dev.envoyagent.cli;

import org.slf4j.LoggerFactory;

/**
 * What the JVM that writes the class data sharing archive runs ({@link AppCdsArchiveCommand}): the
 * command line it is given (a render of the training routes) after one log line, so that logging's
 * classes, which every {@code run} loads before anything else, are in the archive too.
 */
public final class AppCdsTraining {

  private AppCdsTraining() {}

  public static void main(String[] args) {
    LoggerFactory.getLogger(AppCdsTraining.class)
        .info("class data sharing training run: {}", String.join(" ", args));
    System.exit(EnvoyAgentCommand.commandLine().execute(args));
  }
}
