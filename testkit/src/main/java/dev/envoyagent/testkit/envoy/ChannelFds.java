package dev.envoyagent.testkit.envoy;

import java.io.FileDescriptor;
import java.io.IOException;
import java.lang.reflect.Constructor;
import java.lang.reflect.Method;
import java.net.ProtocolFamily;
import java.net.StandardProtocolFamily;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.spi.SelectorProvider;

/**
 * Bridges JDK listen channels and raw fds, so the very same kernel listen socket can move between
 * epochs (what Envoy does). Needs {@code --add-opens java.base/sun.nio.ch=ALL-UNNAMED}; the
 * launcher passes it, and {@link #check()} fails fast at start-up when it is missing.
 */
final class ChannelFds {
  private static final String IMPL = "sun.nio.ch.ServerSocketChannelImpl";

  private ChannelFds() {}

  static void check() throws IOException {
    try {
      constructor();
      fdValMethod();
      newFdMethod();
    } catch (ReflectiveOperationException | RuntimeException e) {
      throw new IOException(
          "JDK internals for listen-socket hand-over unavailable"
              + " (is --add-opens java.base/sun.nio.ch=ALL-UNNAMED set?): "
              + e,
          e);
    }
  }

  static int fd(ServerSocketChannel channel) throws IOException {
    try {
      return (int) fdValMethod().invoke(channel);
    } catch (ReflectiveOperationException e) {
      throw new IOException("cannot read the fd of " + channel, e);
    }
  }

  /** Wraps a bound and listening socket fd (received over SCM_RIGHTS) as a blocking channel. */
  static ServerSocketChannel wrap(int fd, boolean ipv6) throws IOException {
    try {
      FileDescriptor descriptor = (FileDescriptor) newFdMethod().invoke(null, fd);
      ProtocolFamily family = ipv6 ? StandardProtocolFamily.INET6 : StandardProtocolFamily.INET;
      ServerSocketChannel channel =
          (ServerSocketChannel)
              constructor().newInstance(SelectorProvider.provider(), family, descriptor, true);
      channel.configureBlocking(true);
      return channel;
    } catch (ReflectiveOperationException e) {
      throw new IOException("cannot wrap fd " + fd + " as a listen channel", e);
    }
  }

  private static Constructor<?> constructor() throws ReflectiveOperationException {
    Constructor<?> c =
        Class.forName(IMPL)
            .getDeclaredConstructor(
                SelectorProvider.class, ProtocolFamily.class, FileDescriptor.class, boolean.class);
    c.setAccessible(true);
    return c;
  }

  private static Method fdValMethod() throws ReflectiveOperationException {
    Method m = Class.forName(IMPL).getDeclaredMethod("getFDVal");
    m.setAccessible(true);
    return m;
  }

  private static Method newFdMethod() throws ReflectiveOperationException {
    Method m = Class.forName("sun.nio.ch.IOUtil").getDeclaredMethod("newFD", int.class);
    m.setAccessible(true);
    return m;
  }
}
