package dev.envoyagent.testkit.envoy;

import java.lang.reflect.InvocationHandler;
import java.lang.reflect.Method;
import java.lang.reflect.Proxy;

/**
 * POSIX signal handlers through {@code sun.misc.Signal}, reached reflectively so the build stays
 * free of internal-API warnings. The JVM would otherwise exit 143 on SIGTERM and on SIGHUP.
 */
final class Signals {
  private Signals() {}

  static void handle(String name, Runnable action) {
    try {
      Class<?> signalClass = Class.forName("sun.misc.Signal");
      Class<?> handlerClass = Class.forName("sun.misc.SignalHandler");
      Object signal = signalClass.getConstructor(String.class).newInstance(name);
      InvocationHandler ih =
          (Object proxy, Method method, Object[] args) -> {
            if (method.getName().equals("handle")) {
              action.run();
              return null;
            }
            return switch (method.getName()) {
              case "hashCode" -> System.identityHashCode(proxy);
              case "equals" -> proxy == args[0];
              default -> "SignalHandler(" + name + ")";
            };
          };
      Object handler =
          Proxy.newProxyInstance(Signals.class.getClassLoader(), new Class<?>[] {handlerClass}, ih);
      signalClass.getMethod("handle", signalClass, handlerClass).invoke(null, signal, handler);
    } catch (ReflectiveOperationException | RuntimeException e) {
      System.err.println("cannot install a handler for SIG" + name + ": " + e);
    }
  }
}
