package dev.envoyagent.cli;

/** What every envoy-agent command returns. */
final class ExitCodes {
  static final int OK = 0;

  /** The input (routes, config) is invalid, or the operation failed. */
  static final int INVALID = 1;

  /** The command line itself is wrong. */
  static final int USAGE = 2;

  private ExitCodes() {}
}
