package dev.envoyagent.testkit.envoy;

import com.sun.jna.LastErrorException;
import com.sun.jna.Memory;
import com.sun.jna.ptr.IntByReference;
import java.io.Closeable;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * An abstract-namespace AF_UNIX SOCK_SEQPACKET socket, through JNA. SEQPACKET keeps message
 * boundaries, so a message and the fd riding on it (SCM_RIGHTS) always arrive together.
 */
final class DomainSocket implements Closeable {
  private static final Libc C = Libc.INSTANCE;
  private static final int MAX_MESSAGE = 256 * 1024;

  /** A received message; {@code fd} is -1 when none came with it. */
  record Message(String text, int fd) {}

  private final int fd;
  private final AtomicBoolean closed = new AtomicBoolean();

  private DomainSocket(int fd) {
    this.fd = fd;
  }

  static DomainSocket listen(String abstractName) throws IOException {
    int fd = newSocket();
    try (Memory addr = address(abstractName)) {
      C.bind(fd, addr, addressLength(abstractName));
      C.listen(fd, 8);
      return new DomainSocket(fd);
    } catch (LastErrorException e) {
      closeQuietly(fd);
      throw new IOException("cannot listen on @" + abstractName + ": errno " + e.getErrorCode(), e);
    }
  }

  /** Connects, or throws {@link ConnectException} with the errno when nobody listens. */
  static DomainSocket connect(String abstractName) throws IOException {
    int fd = newSocket();
    try (Memory addr = address(abstractName)) {
      C.connect(fd, addr, addressLength(abstractName));
      return new DomainSocket(fd);
    } catch (LastErrorException e) {
      closeQuietly(fd);
      throw new ConnectException(e.getErrorCode());
    }
  }

  static final class ConnectException extends IOException {
    final int errno;

    ConnectException(int errno) {
      super("connect failed: errno " + errno);
      this.errno = errno;
    }
  }

  /** Waits up to {@code timeoutMs} for a peer; null on timeout. */
  DomainSocket accept(int timeoutMs) throws IOException {
    if (!readable(timeoutMs)) {
      return null;
    }
    try {
      return new DomainSocket(C.accept4(fd, null, null, Libc.SOCK_CLOEXEC));
    } catch (LastErrorException e) {
      throw new IOException("accept: errno " + e.getErrorCode(), e);
    }
  }

  /** The peer's uid (SO_PEERCRED): abstract sockets have no file permissions to protect them. */
  int peerUid() throws IOException {
    try (Memory cred = new Memory(12)) {
      IntByReference len = new IntByReference(12);
      C.getsockopt(fd, Libc.SOL_SOCKET, Libc.SO_PEERCRED, cred, len);
      return cred.getInt(4);
    } catch (LastErrorException e) {
      throw new IOException("SO_PEERCRED: errno " + e.getErrorCode(), e);
    }
  }

  void send(String text) throws IOException {
    send(text, -1);
  }

  synchronized void send(String text, int passFd) throws IOException {
    byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
    try (Memory data = new Memory(Math.max(1, bytes.length));
        Memory iov = new Memory(16);
        Memory msg = new Memory(56);
        Memory control = new Memory(24)) {
      data.write(0, bytes, 0, bytes.length);
      iov.setPointer(0, data);
      iov.setLong(8, bytes.length);
      msg.clear();
      msg.setPointer(16, iov);
      msg.setLong(24, 1);
      if (passFd >= 0) {
        control.clear();
        control.setLong(0, 16 + 4);
        control.setInt(8, Libc.SOL_SOCKET);
        control.setInt(12, Libc.SCM_RIGHTS);
        control.setInt(16, passFd);
        msg.setPointer(32, control);
        msg.setLong(40, 24);
      }
      C.sendmsg(fd, msg, Libc.MSG_NOSIGNAL);
    } catch (LastErrorException e) {
      throw new IOException("sendmsg: errno " + e.getErrorCode(), e);
    }
  }

  /** Receives one message; null on timeout; throws EOFException when the peer is gone. */
  Message receive(int timeoutMs) throws IOException {
    if (!readable(timeoutMs)) {
      return null;
    }
    try (Memory data = new Memory(MAX_MESSAGE);
        Memory iov = new Memory(16);
        Memory msg = new Memory(56);
        Memory control = new Memory(24)) {
      iov.setPointer(0, data);
      iov.setLong(8, MAX_MESSAGE);
      msg.clear();
      msg.setPointer(16, iov);
      msg.setLong(24, 1);
      control.clear();
      msg.setPointer(32, control);
      msg.setLong(40, 24);
      long n = C.recvmsg(fd, msg, Libc.MSG_CMSG_CLOEXEC);
      if (n == 0) {
        throw new java.io.EOFException("peer closed the hot-restart socket");
      }
      if ((msg.getInt(48) & Libc.MSG_CTRUNC) != 0) {
        throw new IOException("control data truncated");
      }
      int received = -1;
      if (msg.getLong(40) >= 20
          && control.getInt(8) == Libc.SOL_SOCKET
          && control.getInt(12) == Libc.SCM_RIGHTS) {
        received = control.getInt(16);
      }
      return new Message(
          new String(data.getByteArray(0, (int) n), StandardCharsets.UTF_8), received);
    } catch (LastErrorException e) {
      throw new IOException("recvmsg: errno " + e.getErrorCode(), e);
    }
  }

  /** Request/response on one socket; callers serialise through this lock. */
  synchronized Message call(String text, int timeoutMs) throws IOException {
    send(text);
    Message reply = receive(timeoutMs);
    if (reply == null) {
      throw new IOException(
          "no reply to " + text.split(" ", 2)[0] + " within " + timeoutMs + " ms");
    }
    return reply;
  }

  private boolean readable(int timeoutMs) throws IOException {
    try (Memory pfd = new Memory(8)) {
      pfd.setInt(0, fd);
      pfd.setShort(4, Libc.POLLIN);
      pfd.setShort(6, (short) 0);
      long deadline = System.nanoTime() + timeoutMs * 1_000_000L;
      while (true) {
        if (closed.get()) {
          throw new IOException("socket closed");
        }
        int slice = (int) Math.max(0, Math.min(200, (deadline - System.nanoTime()) / 1_000_000L));
        try {
          if (C.poll(pfd, 1, slice) > 0) {
            return true;
          }
        } catch (LastErrorException e) {
          if (e.getErrorCode() != Libc.EINTR) {
            throw new IOException("poll: errno " + e.getErrorCode(), e);
          }
        }
        if (System.nanoTime() >= deadline) {
          return false;
        }
      }
    }
  }

  @Override
  public void close() {
    if (closed.compareAndSet(false, true)) {
      closeQuietly(fd);
    }
  }

  static void closeQuietly(int fd) {
    try {
      C.close(fd);
    } catch (LastErrorException ignored) {
      // already closed or never valid: nothing to release
    }
  }

  private static int newSocket() throws IOException {
    try {
      return C.socket(Libc.AF_UNIX, Libc.SOCK_SEQPACKET | Libc.SOCK_CLOEXEC, 0);
    } catch (LastErrorException e) {
      throw new IOException("socket: errno " + e.getErrorCode(), e);
    }
  }

  private static Memory address(String abstractName) {
    byte[] name = abstractName.getBytes(StandardCharsets.UTF_8);
    if (name.length > 106) {
      throw new IllegalArgumentException("socket name too long: " + abstractName);
    }
    Memory addr = new Memory(110);
    addr.clear();
    addr.setShort(0, (short) Libc.AF_UNIX);
    addr.write(3, name, 0, name.length); // sun_path[0] stays 0: abstract namespace
    return addr;
  }

  private static int addressLength(String abstractName) {
    return 3 + abstractName.getBytes(StandardCharsets.UTF_8).length;
  }
}
