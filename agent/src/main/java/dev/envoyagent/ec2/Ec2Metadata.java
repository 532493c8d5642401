package dev.envoyagent.ec2;

import java.net.URI;
import java.util.Optional;

/** The agent's edge to IMDSv2. Implementations are thread-safe. */
public interface Ec2Metadata extends AutoCloseable {

  /**
   * This instance's identity, read on the first call and cached for the life of this object (static
   * values never change while the instance runs).
   *
   * @throws Ec2MetadataException when IMDS cannot answer or a required item is absent
   */
  InstanceIdentity identity();

  /**
   * One uncached read of {@code path} (e.g. {@code /latest/meta-data/spot/instance-action}).
   *
   * @return the text, or empty when the item is absent (404)
   * @throws Ec2MetadataException when IMDS cannot answer
   */
  Optional<String> read(String path);

  URI endpoint();

  @Override
  void close();
}
