package dev.envoyagent.testkit.envoy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

/** RE2 syntax and Envoy's program-size limit (regex.cc, re2.max_program_size.error_level = 100). */
class Re2Test {
  @Test
  void refusesJavaOnlySyntax() {
    for (String re :
        new String[] {"a(?=b)", "a(?!b)", "(?<=a)b", "(?<!a)b", "(a)\\1", "a*+", "(?>a)", "\\Gx"}) {
      assertThat(Re2.unsupportedConstruct(re)).as(re).isNotNull();
    }
    for (String re :
        new String[] {"^/api/v[0-9]+/.*$", "[+*]+", "a\\+b", "(?i)abc", "(?P<n>x)", "\\d{2,3}"}) {
      assertThat(Re2.unsupportedConstruct(re)).as(re).isNull();
    }
  }

  @Test
  void smallRegexesPassAndLongOnesExceedTheProgramSize() throws Exception {
    assertThat(Re2.estimatedProgramSize("^/api/v[0-9]+/users/[^/]+$")).isLessThan(100);
    Re2.compileChecked("^/api/v[0-9]+/users/[^/]+$");
    String longLiteral = "/" + "x".repeat(120);
    assertThat(Re2.estimatedProgramSize(longLiteral)).isGreaterThan(100);
    assertThatThrownBy(() -> Re2.compileChecked(longLiteral))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("RE2 program size of")
        .hasMessageContaining("> max program size of 100 set for " + "the error level threshold");
    assertThat(Re2.estimatedProgramSize("(abc){40}")).isGreaterThan(100);
  }
}
