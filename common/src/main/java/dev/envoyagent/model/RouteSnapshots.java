package dev.envoyagent.model;

import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.util.JsonFormat;
import dev.envoyagent.api.v1.RouteSnapshot;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Reads route snapshots from routes files (YAML or JSON, the proto JSON mapping) and checks them.
 */
public final class RouteSnapshots {

  private RouteSnapshots() {}

  /** Decodes and validates; every problem, structural and semantic, in one list. */
  public static RouteSnapshot parse(byte[] content) throws InvalidInputException {
    Documents.Parsed document = Documents.parse(content);
    if (!document.ok()) {
      throw new InvalidInputException("routes", document.problems());
    }
    RouteSnapshot.Builder builder = RouteSnapshot.newBuilder();
    List<Problem> problems = new ArrayList<>(StrictProtoDecoder.decode(document.tree(), builder));
    RouteSnapshot snapshot = builder.build();
    for (Problem problem : SnapshotValidator.validate(snapshot)) {
      // A field that did not decode was left unset; do not also report it as "must be set".
      if (problems.stream().noneMatch(structural -> problem.isAtOrUnder(structural.path()))) {
        problems.add(problem);
      }
    }
    if (!problems.isEmpty()) {
      throw new InvalidInputException("routes", problems);
    }
    return snapshot;
  }

  /** Checks a snapshot that arrived already decoded (from the control plane). */
  public static RouteSnapshot check(RouteSnapshot snapshot) throws InvalidInputException {
    List<Problem> problems = SnapshotValidator.validate(snapshot);
    if (!problems.isEmpty()) {
      throw new InvalidInputException("snapshot " + snapshot.getVersion(), problems);
    }
    return snapshot;
  }

  /**
   * The routes-file form of a snapshot (proto JSON with snake_case names), readable by {@link
   * #parse}.
   */
  public static byte[] toJson(RouteSnapshot snapshot) {
    try {
      return (JsonFormat.printer().preservingProtoFieldNames().print(snapshot) + "\n")
          .getBytes(StandardCharsets.UTF_8);
    } catch (InvalidProtocolBufferException e) {
      throw new IllegalStateException("a RouteSnapshot holds no Any: it always prints", e);
    }
  }

  public static RouteSnapshot load(Path file) throws InvalidInputException {
    try {
      return parse(Files.readAllBytes(file));
    } catch (NoSuchFileException e) {
      throw new InvalidInputException(
          file.toString(), List.of(new Problem("", "no such file: " + file)));
    } catch (IOException e) {
      throw new InvalidInputException(
          file.toString(), List.of(new Problem("", "cannot read " + file + ": " + e)));
    }
  }
}
