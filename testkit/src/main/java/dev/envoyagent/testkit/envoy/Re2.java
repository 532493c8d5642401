package dev.envoyagent.testkit.envoy;

import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

/**
 * Envoy's regular expressions are RE2 (source/common/common/regex.cc, CompiledGoogleReMatcher); the
 * simulator matches with java.util.regex, which accepts a superset of RE2's syntax. This class
 * refuses the Java-only constructs RE2 rejects (lookaround, backreferences, possessive and atomic
 * groups, ...) and estimates RE2's program size.
 *
 * <p>The estimate is a lower bound of RE2's {@code ProgramSize()}: one instruction per literal byte
 * and per character class, two per capture group, one per alternation and per quantifier, bounded
 * repetitions counted {@code n} times, plus the fail and match instructions. RE2 compiles classes
 * such as {@code .} and {@code [^/]} to several byte ranges each, so the real size is larger; a
 * regex the simulator refuses is one Envoy refuses too, not the other way round.
 */
final class Re2 {
  /** Envoy's default of the runtime key {@code re2.max_program_size.error_level}. */
  static final int MAX_PROGRAM_SIZE = 100;

  private Re2() {}

  /** Compiles like RE2 would accept it, or throws with a description of what RE2 refuses. */
  static Pattern compile(String re) {
    String unsupported = unsupportedConstruct(re);
    if (unsupported != null) {
      throw new PatternSyntaxException(
          "invalid perl operator: " + unsupported, re, re.indexOf(unsupported));
    }
    return Pattern.compile(re);
  }

  /**
   * Envoy's check of a route's safe_regex: RE2 program size over the error level fails the config.
   */
  static Pattern compileChecked(String re) throws ConfigException {
    Pattern p;
    try {
      p = compile(re);
    } catch (PatternSyntaxException e) {
      throw new ConfigException("Invalid regex '" + re + "': " + e.getDescription());
    }
    int size = estimatedProgramSize(re);
    if (size > MAX_PROGRAM_SIZE) {
      throw new ConfigException(
          "regex '"
              + re
              + "' RE2 program size of "
              + size
              + " > max program size of "
              + MAX_PROGRAM_SIZE
              + " set for the error level threshold. Increase configured max program size"
              + " if necessary.");
    }
    return p;
  }

  static String unsupportedConstruct(String re) {
    boolean inClass = false;
    for (int i = 0; i < re.length(); i++) {
      char c = re.charAt(i);
      if (c == '\\' && i + 1 < re.length()) {
        char n = re.charAt(i + 1);
        if (!inClass
            && (n >= '1' && n <= '9'
                || n == 'k'
                || n == 'G'
                || n == 'Z'
                || n == 'R'
                || n == 'X'
                || n == 'h'
                || n == 'H'
                || n == 'V'
                || n == 'v')) {
          return "\\" + n;
        }
        i++;
        continue;
      }
      if (inClass) {
        if (c == ']') {
          inClass = false;
        }
        continue;
      }
      if (c == '[') {
        inClass = true;
        if (i + 1 < re.length() && re.charAt(i + 1) == ']') {
          i++;
        }
        continue;
      }
      if (c == '(' && re.startsWith("(?", i)) {
        for (String bad : new String[] {"(?=", "(?!", "(?<=", "(?<!", "(?>"}) {
          if (re.startsWith(bad, i)) {
            return bad;
          }
        }
      }
      if ((c == '+') && i > 0 && "*+?}".indexOf(re.charAt(i - 1)) >= 0 && !escaped(re, i - 1)) {
        return re.substring(i - 1, i + 1);
      }
    }
    return null;
  }

  private static boolean escaped(String re, int i) {
    int n = 0;
    for (int j = i - 1; j >= 0 && re.charAt(j) == '\\'; j--) {
      n++;
    }
    return n % 2 == 1;
  }

  /** A lower bound of RE2's program size for {@code re} (see the class comment). */
  static int estimatedProgramSize(String re) {
    Deque<int[]> groups = new ArrayDeque<>(); // per open group: {cost so far, cost of last atom}
    int[] cur = {0, 0};
    for (int i = 0; i < re.length(); i++) {
      char c = re.charAt(i);
      switch (c) {
        case '\\' -> {
          int end = Math.min(re.length(), i + 2);
          atom(cur, 1);
          i = end - 1;
        }
        case '[' -> {
          int j = i + 1;
          if (j < re.length() && re.charAt(j) == '^') {
            j++;
          }
          if (j < re.length() && re.charAt(j) == ']') {
            j++;
          }
          while (j < re.length() && re.charAt(j) != ']') {
            j += re.charAt(j) == '\\' ? 2 : 1;
          }
          atom(cur, 1);
          i = Math.min(j, re.length() - 1);
        }
        case '(' -> {
          boolean capturing =
              !re.startsWith("(?", i) || re.startsWith("(?P<", i) || re.startsWith("(?<", i);
          groups.push(cur);
          cur = new int[] {capturing ? 2 : 0, 0};
          if (re.startsWith("(?", i)) {
            int close = re.indexOf(':', i);
            int paren = re.indexOf(')', i);
            if (re.startsWith("(?P<", i) || re.startsWith("(?<", i)) {
              i = re.indexOf('>', i);
            } else if (close > 0 && (paren < 0 || close < paren)) {
              i = close;
            } else if (paren > 0) {
              i = paren; // a flag group such as (?i): no instructions
              cur = groups.pop();
            }
          }
        }
        case ')' -> {
          int inner = cur[0];
          cur = groups.isEmpty() ? new int[] {0, 0} : groups.pop();
          atom(cur, inner);
        }
        case '|' -> {
          cur[0] += 1;
          cur[1] = 0;
        }
        case '*', '+', '?' -> {
          cur[0] += 1;
          if (i + 1 < re.length() && re.charAt(i + 1) == '?') {
            i++;
          }
        }
        case '{' -> {
          int close = re.indexOf('}', i);
          String body = close < 0 ? "" : re.substring(i + 1, close);
          if (body.matches("\\d+(,\\d*)?")) {
            int n = Integer.parseInt(body.split(",")[0]);
            int last = cur[1];
            cur[0] += last * (Math.max(n, 1) - 1) + (body.contains(",") ? 1 : 0);
            i = close;
          } else {
            atom(cur, 1);
          }
        }
        case '^', '$' -> cur[0] += 1;
        default -> atom(cur, String.valueOf(c).getBytes(StandardCharsets.UTF_8).length);
      }
    }
    while (!groups.isEmpty()) {
      int inner = cur[0];
      cur = groups.pop();
      cur[0] += inner;
    }
    return cur[0] + 2;
  }

  private static void atom(int[] cur, int cost) {
    cur[0] += cost;
    cur[1] = cost;
  }
}
