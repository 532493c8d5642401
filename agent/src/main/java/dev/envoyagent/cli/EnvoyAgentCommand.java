package dev.envoyagent.cli;

import dev.envoyagent.agent.AgentVersion;
import picocli.CommandLine;
import picocli.CommandLine.Command;

@Command(
    name = "envoy-agent",
    mixinStandardHelpOptions = true,
    scope = CommandLine.ScopeType.INHERIT, // --help and --version on every command too
    versionProvider = EnvoyAgentCommand.Version.class,
    description = "Renders Envoy configuration from routes and keeps Envoy serving them.",
    subcommands = {
      RunCommand.class,
      StatusCommand.class,
      ValidateCommand.class,
      RenderCommand.class,
      DrainCommand.class,
      VersionCommand.class,
      ControlPlaneCommand.class,
      FleetCommand.class,
      AppCdsArchiveCommand.class
    },
    exitCodeListHeading = "%nExit codes:%n",
    exitCodeList = {"0:ok", "1:invalid input or failed operation", "2:usage error"})
public final class EnvoyAgentCommand implements Runnable {

  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  @Override
  public void run() {
    throw new CommandLine.ParameterException(spec.commandLine(), "a command is required");
  }

  /** The configured command line: tests run the same one as main. */
  public static CommandLine commandLine() {
    CommandLine commandLine = new CommandLine(new EnvoyAgentCommand());
    commandLine.setCaseInsensitiveEnumValuesAllowed(true);
    commandLine.setExitCodeExceptionMapper(
        e -> e instanceof CommandLine.ParameterException ? ExitCodes.USAGE : ExitCodes.INVALID);
    return commandLine;
  }

  static final class Version implements CommandLine.IVersionProvider {
    @Override
    public String[] getVersion() {
      return new String[] {"envoy-agent " + AgentVersion.version()};
    }
  }
}
