package dev.envoyagent.agent;

import com.sun.jna.Library;
import com.sun.jna.Memory;
import com.sun.jna.Native;
import com.sun.jna.Pointer;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Talks to systemd ({@code Type=notify}): one datagram of {@code KEY=VALUE} lines to {@code
 * $NOTIFY_SOCKET}, through libc via JNA because the JDK cannot send UNIX datagrams. Without {@code
 * NOTIFY_SOCKET} (not under systemd) every call does nothing.
 */
final class SystemdNotifier {

  private static final Logger LOG = LoggerFactory.getLogger(SystemdNotifier.class);
  private static final int AF_UNIX = 1;
  private static final int SOCK_DGRAM = 2;
  private static final int SOCK_CLOEXEC = 0x80000;
  private static final int MSG_NOSIGNAL = 0x4000;
  private static final int SUN_PATH_MAX = 108;

  /** The few libc calls needed. */
  interface LibC extends Library {
    int socket(int domain, int type, int protocol);

    long sendto(int fd, byte[] buffer, long length, int flags, Pointer address, int addressLength);

    int close(int fd);
  }

  private final String socketPath;
  private final LibC libc;
  private boolean failureLogged;

  private SystemdNotifier(String socketPath, LibC libc) {
    this.socketPath = socketPath;
    this.libc = libc;
  }

  static SystemdNotifier fromEnvironment(Map<String, String> environment) {
    String path = environment.get("NOTIFY_SOCKET");
    if (path == null || path.isEmpty()) {
      return new SystemdNotifier(null, null);
    }
    try {
      return new SystemdNotifier(path, Native.load("c", LibC.class));
    } catch (UnsatisfiedLinkError | RuntimeException e) {
      LOG.warn(
          "cannot load libc for sd_notify; systemd will not hear from the agent reason={}",
          e.toString());
      return new SystemdNotifier(null, null);
    }
  }

  boolean enabled() {
    return socketPath != null;
  }

  /** Sends {@code state} (e.g. "READY=1\nSTATUS=serving"); returns false if it could not. */
  synchronized boolean notify(String state) {
    if (socketPath == null) {
      return false;
    }
    byte[] path = socketPath.getBytes(StandardCharsets.UTF_8);
    if (path.length >= SUN_PATH_MAX) {
      return failed("NOTIFY_SOCKET path too long");
    }
    // struct sockaddr_un: sa_family (2 bytes), then the path; '@' means the abstract namespace.
    Memory address = new Memory(2 + SUN_PATH_MAX);
    address.clear();
    address.setShort(0, (short) AF_UNIX);
    boolean abstractName = path[0] == '@';
    if (abstractName) {
      path[0] = 0;
    }
    address.write(2, path, 0, path.length);
    int length = 2 + path.length + (abstractName ? 0 : 1);
    int fd = libc.socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
      return failed("socket() failed");
    }
    try {
      byte[] message = state.getBytes(StandardCharsets.UTF_8);
      long sent = libc.sendto(fd, message, message.length, MSG_NOSIGNAL, address, length);
      return sent == message.length || failed("sendto() returned " + sent);
    } finally {
      libc.close(fd);
    }
  }

  private boolean failed(String why) {
    if (!failureLogged) {
      LOG.warn("sd_notify failed socket={} reason={}", socketPath, why);
      failureLogged = true;
    }
    return false;
  }
}
