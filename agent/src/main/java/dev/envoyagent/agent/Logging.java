package dev.envoyagent.agent;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.encoder.JsonEncoder;
import ch.qos.logback.classic.encoder.PatternLayoutEncoder;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.ConsoleAppender;
import ch.qos.logback.core.encoder.Encoder;
import dev.envoyagent.config.AgentSettings.LogFormat;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * How {@code envoy-agent run} logs: on a terminal, a timestamped line with the level in colour;
 * otherwise (systemd/journald, which stamps lines itself) a plain line; with {@code logging.format:
 * json}, one JSON object per line. Always one line per event, on stderr.
 */
final class Logging {

  private Logging() {}

  /** Every command's logging until {@code run} configures its own: timestamped lines on stderr. */
  static final String DEFAULT_PATTERN =
      "%d{yyyy-MM-dd'T'HH:mm:ss.SSSXXX} %-5level %logger{0} %msg%n";

  static void configure(LogFormat format, boolean terminal) {
    if (!(LoggerFactory.getILoggerFactory() instanceof LoggerContext context)) {
      return;
    }
    context.reset();
    Encoder<ILoggingEvent> encoder;
    if (format == LogFormat.JSON) {
      JsonEncoder json = new JsonEncoder();
      json.setWithSequenceNumber(false);
      json.setWithNanoseconds(false);
      json.setWithContext(false);
      json.setWithArguments(false);
      json.setWithFormattedMessage(true);
      json.setWithMessage(false);
      encoder = json;
    } else {
      encoder =
          pattern(
              terminal
                  ? "%d{HH:mm:ss.SSS} %highlight(%-5level) %logger{0} %msg%n"
                  : "%-5level %logger{0} %msg%n");
    }
    install(context, encoder);
  }

  static Encoder<ILoggingEvent> pattern(String pattern) {
    PatternLayoutEncoder encoder = new PatternLayoutEncoder();
    encoder.setPattern(pattern);
    return encoder;
  }

  /** One console appender on stderr with {@code encoder}; INFO, and WARN for gRPC and Netty. */
  static void install(LoggerContext context, Encoder<ILoggingEvent> encoder) {
    encoder.setContext(context);
    encoder.start();
    ConsoleAppender<ILoggingEvent> console = new ConsoleAppender<>();
    console.setContext(context);
    console.setName("console");
    console.setTarget("System.err");
    console.setEncoder(encoder);
    console.start();
    ch.qos.logback.classic.Logger root = context.getLogger(Logger.ROOT_LOGGER_NAME);
    root.setLevel(Level.INFO);
    root.addAppender(console);
    // gRPC and Netty log through java.util.logging or their own loggers at debug; keep them quiet.
    context.getLogger("io.grpc").setLevel(Level.WARN);
    context.getLogger("io.netty").setLevel(Level.WARN);
  }
}
