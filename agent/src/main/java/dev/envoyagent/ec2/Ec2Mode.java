package dev.envoyagent.ec2;

import java.util.Locale;

/** {@code ec2:} in agent.yaml: whether the agent reads its identity from IMDS. */
public enum Ec2Mode {
  /**
   * Probe IMDS briefly (about 1 s); not answering means "not on EC2" (laptops, CI) and configured
   * identity is used.
   */
  AUTO,
  /**
   * The host must be on EC2: start-up fails, naming the endpoint and the reason, when IMDS cannot
   * be read.
   */
  ON,
  /** Never touch IMDS. */
  OFF;

  /** {@code auto|on|off}, case-insensitive. */
  public static Ec2Mode parse(String text) {
    if (text != null) {
      for (Ec2Mode m : values()) {
        if (m.name().equalsIgnoreCase(text.trim())) {
          return m;
        }
      }
    }
    throw new IllegalArgumentException("ec2 must be one of auto, on, off; got: " + text);
  }

  @Override
  public String toString() {
    return name().toLowerCase(Locale.ROOT);
  }
}
