package dev.envoyagent.testkit.envoy;

import com.sun.jna.LastErrorException;
import com.sun.jna.Library;
import com.sun.jna.Native;
import com.sun.jna.Pointer;
import com.sun.jna.ptr.IntByReference;

/**
 * The few libc calls the JDK does not offer: fd passing, parent-death signal, inotify.
 * x86-64/aarch64 Linux only.
 */
interface Libc extends Library {
  Libc INSTANCE = Native.load("c", Libc.class);

  int AF_UNIX = 1;
  int SOCK_SEQPACKET = 5;
  int SOCK_CLOEXEC = 0x80000;
  int SOL_SOCKET = 1;
  int SO_PEERCRED = 17;
  int SCM_RIGHTS = 1;
  int MSG_NOSIGNAL = 0x4000;
  int MSG_CTRUNC = 0x8;
  int MSG_CMSG_CLOEXEC = 0x40000000;
  int PR_SET_PDEATHSIG = 1;
  int SIGKILL = 9;
  int SIGTERM = 15;
  int SIGABRT = 6;
  short POLLIN = 0x1;
  int EINTR = 4;
  int ECONNREFUSED = 111;
  int ENOENT = 2;
  int IN_MOVED_TO = 0x80;
  int IN_NONBLOCK = 0x800;
  int IN_CLOEXEC = 0x80000;

  int socket(int domain, int type, int protocol) throws LastErrorException;

  int bind(int fd, Pointer addr, int len) throws LastErrorException;

  int listen(int fd, int backlog) throws LastErrorException;

  int accept4(int fd, Pointer addr, Pointer len, int flags) throws LastErrorException;

  int connect(int fd, Pointer addr, int len) throws LastErrorException;

  int close(int fd) throws LastErrorException;

  long sendmsg(int fd, Pointer msg, int flags) throws LastErrorException;

  long recvmsg(int fd, Pointer msg, int flags) throws LastErrorException;

  long read(int fd, Pointer buf, long count) throws LastErrorException;

  int getsockopt(int fd, int level, int name, Pointer value, IntByReference len)
      throws LastErrorException;

  int poll(Pointer fds, long nfds, int timeoutMs) throws LastErrorException;

  int prctl(int option, long arg2, long arg3, long arg4, long arg5) throws LastErrorException;

  int getuid();

  int getpid();

  int kill(int pid, int sig) throws LastErrorException;

  int inotify_init1(int flags) throws LastErrorException;

  int inotify_add_watch(int fd, String path, int mask) throws LastErrorException;
}
