package dev.envoyagent.config;

import java.util.Arrays;
import java.util.Locale;
import java.util.Optional;

/** How routes reach Envoy. */
public enum Delivery {
  /** Bootstrap plus watched LDS/CDS/RDS/EDS files: route and endpoint changes need no restart. */
  FILES,
  /** Everything static in the bootstrap: every change is a hot restart. */
  RESTART;

  public String configName() {
    return name().toLowerCase(Locale.ROOT);
  }

  public static Optional<Delivery> fromConfigName(String name) {
    return Arrays.stream(values()).filter(d -> d.configName().equals(name)).findFirst();
  }
}
