package dev.envoyagent.agent;

import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.spi.Configurator;
import ch.qos.logback.classic.spi.ConfiguratorRank;
import ch.qos.logback.core.spi.ContextAwareBase;

/**
 * logback's configuration for every command, found through {@link java.util.ServiceLoader} in place
 * of a logback.xml: parsing that XML loaded some 300 classes, a tenth of a second of every start,
 * including the agent's on the way to serving its last known good routes.
 */
@ConfiguratorRank(ConfiguratorRank.CUSTOM_HIGH_PRIORITY)
public final class LogbackDefaults extends ContextAwareBase implements Configurator {

  @Override
  public ExecutionStatus configure(LoggerContext context) {
    Logging.install(context, Logging.pattern(Logging.DEFAULT_PATTERN));
    return ExecutionStatus.DO_NOT_INVOKE_NEXT_IF_ANY;
  }
}
