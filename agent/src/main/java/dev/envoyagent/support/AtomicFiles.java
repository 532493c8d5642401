package dev.envoyagent.support;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Writes a file so that readers see the old content or the new, never a part: a temporary file in
 * the same directory, fsync, rename over the target, fsync the directory. Envoy reloads watched
 * files only on such a rename.
 */
public final class AtomicFiles {

  public static final String TEMP_PREFIX = ".tmp-";

  private AtomicFiles() {}

  public static void write(Path target, byte[] content) throws IOException {
    Path dir = target.toAbsolutePath().getParent();
    Files.createDirectories(dir);
    Path temp =
        dir.resolve(
            TEMP_PREFIX
                + Long.toHexString(ThreadLocalRandom.current().nextLong())
                + "-"
                + target.getFileName());
    try {
      try (FileChannel channel =
          FileChannel.open(temp, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
        ByteBuffer buffer = ByteBuffer.wrap(content);
        while (buffer.hasRemaining()) {
          channel.write(buffer);
        }
        channel.force(true);
      }
      Files.move(temp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    } finally {
      Files.deleteIfExists(temp);
    }
    syncDirectory(dir);
  }

  /** Makes a rename or delete in {@code dir} durable. */
  public static void syncDirectory(Path dir) throws IOException {
    try (FileChannel channel = FileChannel.open(dir, StandardOpenOption.READ)) {
      channel.force(true);
    }
  }

  /** Whether {@code target} holds exactly {@code content}. */
  public static boolean hasContent(Path target, byte[] content) throws IOException {
    if (!Files.isRegularFile(target) || Files.size(target) != content.length) {
      return false;
    }
    return java.util.Arrays.equals(Files.readAllBytes(target), content);
  }
}
