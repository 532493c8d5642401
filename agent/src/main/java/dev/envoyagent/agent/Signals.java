package dev.envoyagent.agent;

import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.Proxy;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * POSIX signal handlers through the JDK's sun.misc.Signal (module jdk.unsupported), reached by
 * reflection: the JDK has no public API for SIGHUP or SIGUSR1, and a direct reference draws a
 * compiler warning that cannot be suppressed.
 */
final class Signals {

  private static final Logger LOG = LoggerFactory.getLogger(Signals.class);

  private Signals() {}

  /** Runs {@code action} on the JVM's signal thread when {@code name} (e.g. "HUP") arrives. */
  static void handle(String name, Runnable action) {
    try {
      Class<?> signalClass = Class.forName("sun.misc.Signal");
      Class<?> handlerClass = Class.forName("sun.misc.SignalHandler");
      Object signal = signalClass.getConstructor(String.class).newInstance(name);
      Object handler =
          Proxy.newProxyInstance(
              Signals.class.getClassLoader(),
              new Class<?>[] {handlerClass},
              (proxy, method, args) -> {
                if (method.getName().equals("handle")) {
                  action.run();
                  return null;
                }
                return method.getName().equals("toString")
                    ? "envoy-agent handler for SIG" + name
                    : null;
              });
      Method install = signalClass.getMethod("handle", signalClass, handlerClass);
      install.invoke(null, signal, handler);
    } catch (InvocationTargetException e) {
      LOG.warn("cannot handle SIG{} reason={}", name, e.getCause().toString());
    } catch (ReflectiveOperationException e) {
      LOG.warn("cannot handle SIG{}: this JVM has no sun.misc.Signal ({})", name, e.toString());
    }
  }
}
