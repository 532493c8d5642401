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

/** Strict loading of Envoy v3 config: unknown fields, bad enum names and unknown Any types fail. */
final class ConfigLoader {
    static final String LISTENER_TYPE = "type.googleapis.com/envoy.config.listener.v3.Listener";
    static final String CLUSTER_TYPE = "type.googleapis.com/envoy.config.cluster.v3.Cluster";
    static final String ROUTE_TYPE = "type.googleapis.com/envoy.config.route.v3.RouteConfiguration";
    static final String ENDPOINT_TYPE = "type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment";

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());

    private final ProtoTypes types;

    ConfigLoader(ProtoTypes types) {
        this.types = types;
    }

    ProtoTypes types() {
        return types;
    }

    /** A DiscoveryResponse read from a path config source. */
    record DiscoveryFile(Path path, String versionInfo, List<Any> resources) {
    }

    Bootstrap loadBootstrap(String configPath, String configYaml) throws ConfigException {
        if ((configPath == null || configPath.isEmpty()) && (configYaml == null || configYaml.isEmpty())) {
            throw new ConfigException("At least one of --config-path or --config-yaml or Options::configProto() "
                    + "should be non-empty");
        }
        Bootstrap.Builder builder = Bootstrap.newBuilder();
        if (configPath != null && !configPath.isEmpty()) {
            Path path = Path.of(configPath);
            merge(readTree(path, read(path)), builder);
        }
        if (configYaml != null && !configYaml.isEmpty()) {
            // Envoy merges --config-yaml over the file with protobuf MergeFrom semantics.
            Bootstrap.Builder overlay = Bootstrap.newBuilder();
            merge(parse(YAML, configYaml, "--config-yaml"), overlay);
            builder.mergeFrom(overlay.build());
        }
        return builder.build();
    }

    DiscoveryFile loadDiscoveryFile(Path path) throws ConfigException {
        DiscoveryResponse.Builder builder = DiscoveryResponse.newBuilder();
        merge(readTree(path, read(path)), builder);
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
                throw new ConfigException("Unexpected resource type " + any.getTypeUrl() + " in " + file.path()
                        + " (expecting " + typeUrl + ")");
            }
            out.add(unpack(any, type));
        }
        return out;
    }

    static <T extends Message> T unpack(Any any, Class<T> type) throws ConfigException {
        try {
            return any.unpack(type);
        } catch (InvalidProtocolBufferException e) {
            throw new ConfigException("Unable to unpack as " + type.getSimpleName() + ": " + any.getTypeUrl(), e);
        }
    }

    private Any unwrap(Any any) throws ConfigException {
        if (any.getTypeUrl().endsWith("/envoy.service.discovery.v3.Resource")) {
            return unpack(any, Resource.class).getResource();
        }
        return any;
    }

    private void merge(JsonNode tree, Message.Builder builder) throws ConfigException {
        types.resolveAll(tree);
        String json = tree.toString();
        try {
            types.strictParser().merge(json, builder);
        } catch (InvalidProtocolBufferException | RuntimeException e) {
            String snippet = json.length() > 300 ? json.substring(0, 300) + "..." : json;
            throw new ConfigException("Unable to parse JSON as proto (INVALID_ARGUMENT:" + e.getMessage() + "): "
                    + snippet, e);
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

    private static JsonNode parse(ObjectMapper mapper, String text, String what) throws ConfigException {
        try {
            JsonNode tree = mapper.readTree(text);
            if (tree == null || !tree.isObject()) {
                throw new ConfigException("Unable to convert YAML as JSON: " + what + " is not an object");
            }
            return tree;
        } catch (IOException e) {
            throw new ConfigException("Unable to parse JSON as proto (" + what + "): " + e.getMessage(), e);
        }
    }
}
