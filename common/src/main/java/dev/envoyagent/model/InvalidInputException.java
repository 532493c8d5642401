package dev.envoyagent.model;

import java.util.List;
import java.util.stream.Collectors;

/** Input was refused; carries every problem found, not just the first. */
public final class InvalidInputException extends Exception {
  private static final long serialVersionUID = 1L;

  private final transient List<Problem> problems;

  public InvalidInputException(String what, List<Problem> problems) {
    super(
        what
            + ": "
            + problems.size()
            + " problem(s): "
            + problems.stream().map(Problem::toString).collect(Collectors.joining("; ")));
    this.problems = List.copyOf(problems);
  }

  public List<Problem> problems() {
    return problems;
  }
}
