package dev.envoyagent.testkit.envoy;

/** A configuration Envoy would refuse; the message is shaped like Envoy's. */
class ConfigException extends Exception {
  ConfigException(String message) {
    super(message);
  }

  ConfigException(String message, Throwable cause) {
    super(message, cause);
  }
}
