package dev.envoyagent.ec2;

/**
 * Start-up cannot get the EC2 identity it needs; the message says which endpoint, why, and what to
 * change.
 */
public final class Ec2UnavailableException extends Ec2MetadataException {
  public Ec2UnavailableException(Ec2Mode mode, Ec2MetadataException cause) {
    super(cause.endpoint(), message(mode, cause), cause);
  }

  private static String message(Ec2Mode mode, Ec2MetadataException cause) {
    String hint =
        mode == Ec2Mode.ON
            ? "ec2: on requires IMDSv2 on this host (is it an EC2 instance with the metadata service enabled and"
                + " a token hop limit that reaches the agent?); use ec2: auto or off elsewhere"
            : "IMDS answered the probe, so this is an EC2 instance, but its identity could not be read";
    return "cannot read the EC2 identity (ec2: " + mode + "): " + cause.getMessage() + ". " + hint;
  }
}
