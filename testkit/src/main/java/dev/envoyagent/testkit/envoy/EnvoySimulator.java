package dev.envoyagent.testkit.envoy;

import java.util.List;

/**
 * Entry point: an Envoy stand-in that honours Envoy's process contract (command line, admin API,
 * hot restart, file-based xDS, signals). See docs/envoy-simulator.md for what is modelled.
 */
public final class EnvoySimulator {
  private EnvoySimulator() {}

  public static void main(String[] args) {
    System.setProperty(
        "sun.net.httpserver.nodelay", "true"); // admin: no 40 ms Nagle/delayed-ACK stalls
    System.exit(run(args));
  }

  static int run(String[] args) {
    SimulatorOptions options;
    try {
      options = SimulatorOptions.parse(List.of(args));
    } catch (SimulatorOptions.OptionsException e) {
      System.err.println(e.getMessage());
      return 1;
    }
    Faults faults;
    try {
      faults = Faults.fromEnvironment(System.getenv());
    } catch (IllegalArgumentException e) {
      System.err.println(e.getMessage());
      return 1;
    }
    if (options.hotRestartVersion()) {
      System.err.println(options.disableHotRestart() ? "disabled" : faults.hotRestartVersion());
      return 0;
    }
    BuildInfo build;
    try {
      build = BuildInfo.fromEnvironment(System.getenv());
    } catch (IllegalArgumentException e) {
      System.err.println(e.getMessage());
      return 1;
    }
    if (options.version()) {
      // TCLAP's version output on stdout, then exit 0 (options_impl.cc, tclap StdOutput::version).
      System.out.print(build.versionOutput());
      System.out.flush();
      return 0;
    }
    Log log = Log.create(options.logPath(), options.logLevel());
    if (options.mode() != SimulatorOptions.Mode.SERVE) {
      return validate(options, faults, log);
    }
    try {
      return new Server(options, faults, log).run();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return 1;
    }
  }

  private static int validate(SimulatorOptions options, Faults faults, Log log) {
    try {
      new Validator(faults, log).validate(options);
      System.out.println("configuration '" + options.configPath() + "' OK");
      return 0;
    } catch (ConfigException e) {
      log.critical(
          "main",
          "error initializing configuration '" + options.configPath() + "': " + e.getMessage());
      return 1;
    }
  }
}
