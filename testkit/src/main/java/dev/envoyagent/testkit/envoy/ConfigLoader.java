package dev.envoyagent.testkit.envoy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.google.protobuf.Any;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.Message;
import io.envoyproxy.envoy.config.bootstrap.v3.Bootstrap;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import io.envoyproxy.envoy.service.discovery.v3.Resource;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Loading of Envoy v3 config as MessageUtil::loadFromJson (source/common/protobuf/utility.cc): a
 * strict parse first; when only unknown fields (or unknown enum names) break it, the validation
 * visitor decides (source/common/protobuf/message_validator_impl.cc). The bootstrap uses the static
 * visitor (strict: "Protobuf message (...) has unknown fields", unless {@code
 * --allow-unknown-static-fields}); xDS files the dynamic one (a warning "Unknown field: ..."
 * counted once per description in {@code server.dynamic_unknown_fields}, unless {@code
 * --reject-unknown-dynamic-fields} makes it strict or {@code --ignore-unknown-dynamic-fields}
 * silent). Unknown Any types always fail.
 */
final class ConfigLoader {
  static final String LISTENER_TYPE = "type.googleapis.com/envoy.config.listener.v3.Listener";
  static final String CLUSTER_TYPE = "type.googleapis.com/envoy.config.cluster.v3.Cluster";
  static final String ROUTE_TYPE = "type.googleapis.com/envoy.config.route.v3.RouteConfiguration";
  static final String ENDPOINT_TYPE =
      "type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment";

  private static final ObjectMapper JSON = new ObjectMapper();
  private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());

  private final ProtoTypes types;
  private Visitor staticVisitor = new Visitor(Visitor.Mode.STRICT, null, null);
  private Visitor dynamicVisitor = new Visitor(Visitor.Mode.WARNING, null, null);
  private SimulatorOptions options;
  private volatile io.envoyproxy.envoy.config.core.v3.Node localNode =
      io.envoyproxy.envoy.config.core.v3.Node.getDefaultInstance();

  ConfigLoader(ProtoTypes types) {
    this.types = types;
  }

  /**
   * Envoy's ProtobufMessage::ValidationVisitor: strict, warning (logged and counted once per
   * description) or null.
   */
  static final class Visitor {
    enum Mode {
      STRICT,
      WARNING,
      NULL
    }

    private final Mode mode;
    private final Stats stats;
    private final String counter;
    private final java.util.Set<String> seen = java.util.concurrent.ConcurrentHashMap.newKeySet();
    private Log log;

    Visitor(Mode mode, Stats stats, String counter) {
      this.mode = mode;
      this.stats = stats;
      this.counter = counter;
      if (stats != null) {
        stats.counter(counter);
      }
    }

    void onUnknownField(String description) throws ConfigException {
      switch (mode) {
        case STRICT ->
            throw new UnknownFieldsException(
                "Protobuf message (" + description + ") has unknown fields");
        case WARNING -> {
          if (seen.add(description)) {
            if (log != null) {
              log.warn("misc", "Unknown field: " + description);
            }
            if (stats != null) {
              stats.inc(counter);
            }
          }
        }
        default -> {}
      }
    }
  }

  /** Envoy's UnknownProtoFieldException: its message ends with "has unknown fields". */
  static final class UnknownFieldsException extends ConfigException {
    UnknownFieldsException(String message) {
      super(message);
    }
  }

  /**
   * The validation context of the command line (ValidationContext in server.cc): static visitor
   * strict unless --allow-unknown-static-fields, dynamic visitor warning unless
   * --reject-unknown-dynamic-fields / --ignore-unknown-dynamic-fields; counters {@code
   * server.static_unknown_fields}, {@code server.dynamic_unknown_fields}.
   */
  void configure(SimulatorOptions options, Stats stats, Log log) {
    this.options = options;
    staticVisitor =
        new Visitor(
            options.allowUnknownStaticFields() ? Visitor.Mode.WARNING : Visitor.Mode.STRICT,
            stats,
            "server.static_unknown_fields");
    dynamicVisitor =
        new Visitor(
            options.rejectUnknownDynamicFields()
                ? Visitor.Mode.STRICT
                : options.ignoreUnknownDynamicFields() ? Visitor.Mode.NULL : Visitor.Mode.WARNING,
            stats,
            "server.dynamic_unknown_fields");
    staticVisitor.log = log;
    dynamicVisitor.log = log;
  }

  /**
   * The node xDS subscriptions identify as: bootstrap {@code node} with
   * --service-node/-cluster/-zone applied.
   */
  io.envoyproxy.envoy.config.core.v3.Node localNode() {
    return localNode;
  }

  /**
   * Config::Utility::checkLocalInfo (source/common/config/utility.cc), called by
   * SubscriptionFactoryImpl::subscriptionFromConfigSource for every subscription, file ones
   * included.
   */
  void checkLocalInfo(String typeUrl) throws ConfigException {
    if (localNode.getId().isEmpty() || localNode.getCluster().isEmpty()) {
      throw new ConfigException(
          typeUrl
              + ": node 'id' and 'cluster' are required. Set it either in 'node' "
              + "config or via --service-node and --service-cluster options.");
    }
  }

  ProtoTypes types() {
    return types;
  }

  /** A DiscoveryResponse read from a path config source. */
  record DiscoveryFile(Path path, String versionInfo, List<Any> resources) {}

  Bootstrap loadBootstrap(String configPath, String configYaml) throws ConfigException {
    if ((configPath == null || configPath.isEmpty())
        && (configYaml == null || configYaml.isEmpty())) {
      throw new ConfigException(
          "At least one of --config-path or --config-yaml or Options::configProto() "
              + "should be non-empty");
    }
    Bootstrap.Builder builder = Bootstrap.newBuilder();
    if (configPath != null && !configPath.isEmpty()) {
      Path path = Path.of(configPath);
      merge(readTree(path, read(path)), builder, staticVisitor);
    }
    if (configYaml != null && !configYaml.isEmpty()) {
      // Envoy merges --config-yaml over the file with protobuf MergeFrom semantics.
      Bootstrap.Builder overlay = Bootstrap.newBuilder();
      merge(parse(YAML, configYaml, "--config-yaml"), overlay, staticVisitor);
      builder.mergeFrom(overlay.build());
    }
    Bootstrap b = builder.build();
    io.envoyproxy.envoy.config.core.v3.Node.Builder node = b.getNode().toBuilder();
    if (options != null && !options.serviceNode().isEmpty()) {
      node.setId(options.serviceNode());
    }
    if (options != null && !options.serviceCluster().isEmpty()) {
      node.setCluster(options.serviceCluster());
    }
    localNode = node.build();
    return b;
  }

  DiscoveryFile loadDiscoveryFile(Path path) throws ConfigException {
    DiscoveryResponse.Builder builder = DiscoveryResponse.newBuilder();
    merge(readTree(path, read(path)), builder, dynamicVisitor);
    DiscoveryResponse response = builder.build();
    List<Any> resources = new ArrayList<>();
    for (Any any : response.getResourcesList()) {
      resources.add(unwrap(any));
    }
    return new DiscoveryFile(path, response.getVersionInfo(), resources);
  }

  /** Unpacks every resource, refusing any of another type (as the xDS subscription does). */
  static <T extends Message> List<T> resources(DiscoveryFile file, Class<T> type, String typeUrl)
      throws ConfigException {
    List<T> out = new ArrayList<>();
    for (Any any : file.resources()) {
      if (!any.getTypeUrl().equals(typeUrl)) {
        throw new ConfigException(
            "Unexpected resource type "
                + any.getTypeUrl()
                + " in "
                + file.path()
                + " (expecting "
                + typeUrl
                + ")");
      }
      out.add(unpack(any, type));
    }
    return out;
  }

  static <T extends Message> T unpack(Any any, Class<T> type) throws ConfigException {
    try {
      return any.unpack(type);
    } catch (InvalidProtocolBufferException e) {
      throw new ConfigException(
          "Unable to unpack as " + type.getSimpleName() + ": " + any.getTypeUrl(), e);
    }
  }

  private Any unwrap(Any any) throws ConfigException {
    if (any.getTypeUrl().endsWith("/envoy.service.discovery.v3.Resource")) {
      return unpack(any, Resource.class).getResource();
    }
    return any;
  }

  private void merge(JsonNode tree, Message.Builder builder, Visitor visitor)
      throws ConfigException {
    types.resolveAll(tree);
    String json = tree.toString();
    Message.Builder relaxed = builder.clone();
    try {
      types.strictParser().merge(json, builder);
    } catch (InvalidProtocolBufferException | RuntimeException e) {
      try {
        types.strictParser().ignoringUnknownFields().merge(json, relaxed);
      } catch (InvalidProtocolBufferException | RuntimeException relaxedError) {
        String snippet = json.length() > 300 ? json.substring(0, 300) + "..." : json;
        throw new ConfigException(
            "Unable to parse JSON as proto (INVALID_ARGUMENT:"
                + relaxedError.getMessage()
                + "): "
                + snippet,
            relaxedError);
      }
      // Only unknown fields (or enum names) broke the strict parse: the visitor decides.
      visitor.onUnknownField(
          "type "
              + builder.getDescriptorForType().getFullName()
              + " reason INVALID_ARGUMENT:"
              + e.getMessage());
      builder.clear().mergeFrom(relaxed.build());
    }
  }

  private static String read(Path path) throws ConfigException {
    try {
      return Files.readString(path);
    } catch (NoSuchFileException e) {
      throw new ConfigException("unable to read file: " + path);
    } catch (IOException e) {
      throw new ConfigException("unable to read file: " + path + ": " + e.getMessage(), e);
    }
  }

  private static JsonNode readTree(Path path, String text) throws ConfigException {
    String name = path.getFileName().toString();
    if (name.endsWith(".json")) {
      return parse(JSON, text, path.toString());
    }
    return parse(YAML, text, path.toString()); // YAML is a superset of JSON
  }

  private static JsonNode parse(ObjectMapper mapper, String text, String what)
      throws ConfigException {
    try {
      JsonNode tree = mapper.readTree(text);
      if (tree == null || !tree.isObject()) {
        throw new ConfigException("Unable to convert YAML as JSON: " + what + " is not an object");
      }
      return tree;
    } catch (IOException e) {
      throw new ConfigException(
          "Unable to parse JSON as proto (" + what + "): " + e.getMessage(), e);
    }
  }
}
