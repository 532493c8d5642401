package dev.envoyagent.testkit.envoy;

import io.envoyproxy.envoy.config.core.v3.BuildVersion;
import io.envoyproxy.envoy.type.v3.SemanticVersion;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The Envoy build the simulator claims to be, as Envoy's {@code source/common/version/version.cc}
 * ({@code VersionInfo::version}) formats it: {@code <revision>/<X.Y.Z>/<status>/<build
 * type>/<ssl>}. The release number comes from {@code ENVOY_SIM_ENVOY_VERSION} (default a current
 * release) so tests can present an older or newer Envoy.
 */
record BuildInfo(String revision, String number) {
  static final String ENVOY_VERSION = "ENVOY_SIM_ENVOY_VERSION";
  static final String DEFAULT_NUMBER = "1.36.2";

  /**
   * A made-up build commit; its first 6 hex digits are the {@code server.version} gauge, as in
   * Envoy.
   */
  static final String REVISION = "5a7a1b0c9d8e7f6a5b4c3d2e1f0a9b8c7d6e5f40";

  private static final Pattern NUMBER = Pattern.compile("(\\d+)\\.(\\d+)\\.(\\d+)(-.*)?");

  static BuildInfo fromEnvironment(Map<String, String> env) {
    String number = env.getOrDefault(ENVOY_VERSION, DEFAULT_NUMBER).trim();
    if (!NUMBER.matcher(number).matches()) {
      throw new IllegalArgumentException(
          ENVOY_VERSION + " must look like X.Y.Z, got '" + number + "'");
    }
    return new BuildInfo(REVISION, number);
  }

  /** {@code VersionInfo::version()}, e.g. {@code <sha>/1.36.2/Clean/RELEASE/BoringSSL}. */
  String version() {
    return revision + "/" + number + "/Clean/RELEASE/BoringSSL";
  }

  /**
   * What {@code envoy --version} prints on stdout (TCLAP's StdOutput::version), blank lines
   * included.
   */
  String versionOutput() {
    return "\nenvoy  version: " + version() + "\n\n";
  }

  /** {@code server.version}: the revision's first 6 hex digits as a number. */
  long serverVersionGauge() {
    return Long.parseLong(revision.substring(0, 6), 16);
  }

  /** {@code VersionInfo::buildVersion()}: node.user_agent_build_version. */
  BuildVersion buildVersion() {
    Matcher m = NUMBER.matcher(number);
    if (!m.matches()) {
      throw new IllegalStateException(number);
    }
    return BuildVersion.newBuilder()
        .setVersion(
            SemanticVersion.newBuilder()
                .setMajorNumber(Integer.parseInt(m.group(1)))
                .setMinorNumber(Integer.parseInt(m.group(2)))
                .setPatch(Integer.parseInt(m.group(3))))
        .build();
  }
}
