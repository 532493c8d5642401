package dev.envoyagent.testkit.envoy;

import com.fasterxml.jackson.databind.JsonNode;
import com.google.protobuf.Descriptors.Descriptor;
import com.google.protobuf.util.JsonFormat;
import java.util.Iterator;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Set;

/**
 * The JSON type registry for {@code Any} fields. Loading every descriptor of the Envoy API jar
 * costs seconds at each start, so types are resolved on demand from the {@code @type} names a
 * document carries, through the API jar's naming convention (proto package to Java package). A name
 * that resolves to nothing stays unknown and the strict parser rejects it, as Envoy does.
 */
final class ProtoTypes {
  private static final Map<String, String> JAVA_PREFIX =
      Map.of(
          "envoy.", "io.envoyproxy.envoy.",
          "xds.", "com.github.xds.",
          "udpa.", "com.github.udpa.udpa.",
          "google.rpc.", "com.google.rpc.",
          "google.protobuf.", "com.google.protobuf.",
          "google.api.", "com.google.api.",
          "cel.", "dev.cel.",
          "opentelemetry.", "io.opentelemetry.",
          "io.prometheus.", "io.prometheus.");

  private final Set<Descriptor> descriptors = new LinkedHashSet<>();
  private JsonFormat.TypeRegistry registry = JsonFormat.TypeRegistry.getEmptyTypeRegistry();

  synchronized void add(Descriptor descriptor) {
    if (descriptors.add(descriptor)) {
      registry = JsonFormat.TypeRegistry.newBuilder().add(descriptors).build();
    }
  }

  /** Registers every {@code @type} found anywhere in the tree that names a known message. */
  void resolveAll(JsonNode node) {
    if (node.isObject()) {
      JsonNode type = node.get("@type");
      if (type != null && type.isTextual()) {
        Descriptor d = resolve(type.asText());
        if (d != null) {
          add(d);
        }
      }
      for (Iterator<JsonNode> it = node.elements(); it.hasNext(); ) {
        resolveAll(it.next());
      }
    } else if (node.isArray()) {
      node.forEach(this::resolveAll);
    }
  }

  synchronized JsonFormat.Parser strictParser() {
    return JsonFormat.parser().usingTypeRegistry(registry);
  }

  /** Envoy prints admin JSON with proto field names and all primitive fields. */
  synchronized JsonFormat.Printer printer() {
    return JsonFormat.printer()
        .usingTypeRegistry(registry)
        .preservingProtoFieldNames()
        .alwaysPrintFieldsWithNoPresence();
  }

  synchronized JsonFormat.Printer compactPrinter() {
    return JsonFormat.printer().usingTypeRegistry(registry).preservingProtoFieldNames();
  }

  static Descriptor resolve(String typeUrl) {
    String name = typeUrl.substring(typeUrl.lastIndexOf('/') + 1);
    for (Map.Entry<String, String> e : JAVA_PREFIX.entrySet()) {
      if (name.startsWith(e.getKey())) {
        return load(e.getValue() + name.substring(e.getKey().length()));
      }
    }
    return null;
  }

  private static Descriptor load(String dotted) {
    String[] parts = dotted.split("\\.");
    StringBuilder cls = new StringBuilder();
    boolean inMessage = false;
    for (String part : parts) {
      if (part.isEmpty()) {
        return null;
      }
      if (cls.length() > 0) {
        cls.append(inMessage ? '$' : '.');
      }
      cls.append(part);
      if (Character.isUpperCase(part.charAt(0))) {
        inMessage = true;
      }
    }
    try {
      Class<?> c = Class.forName(cls.toString(), true, ProtoTypes.class.getClassLoader());
      if (!com.google.protobuf.Message.class.isAssignableFrom(c)) {
        return null;
      }
      return (Descriptor) c.getMethod("getDescriptor").invoke(null);
    } catch (ReflectiveOperationException | LinkageError e) {
      return null;
    }
  }
}
