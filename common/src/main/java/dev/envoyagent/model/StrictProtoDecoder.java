package dev.envoyagent.model;

import com.fasterxml.jackson.databind.JsonNode;
import com.google.protobuf.Descriptors.Descriptor;
import com.google.protobuf.Descriptors.EnumDescriptor;
import com.google.protobuf.Descriptors.EnumValueDescriptor;
import com.google.protobuf.Descriptors.FieldDescriptor;
import com.google.protobuf.Descriptors.OneofDescriptor;
import com.google.protobuf.Message;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

/**
 * Fills a protobuf builder from a YAML/JSON tree, strictly, and names every problem by its path.
 *
 * <p>Protobuf's own JsonFormat stops at the first problem and reports it without a path; operators
 * editing a routes file need all of them at once, each with the field it concerns. Field names are
 * accepted in snake_case (proto names) and lowerCamelCase (JSON names); enum values by name only.
 */
public final class StrictProtoDecoder {

  private static final long UINT32_MAX = 0xFFFF_FFFFL;

  private StrictProtoDecoder() {}

  /** Decodes {@code tree} into {@code builder}; returns every problem found (empty when clean). */
  public static List<Problem> decode(JsonNode tree, Message.Builder builder) {
    List<Problem> problems = new ArrayList<>();
    decodeMessage(tree, builder, "", problems);
    return problems;
  }

  static String child(String path, String name) {
    return path.isEmpty() ? name : path + "." + name;
  }

  static String index(String path, int i) {
    return path + "[" + i + "]";
  }

  private static void decodeMessage(
      JsonNode node, Message.Builder builder, String path, List<Problem> out) {
    Descriptor type = builder.getDescriptorForType();
    if (!node.isObject()) {
      out.add(new Problem(path, "expected an object, got " + describe(node)));
      return;
    }
    Map<OneofDescriptor, String> oneofsSet = new HashMap<>();
    for (Map.Entry<String, JsonNode> entry : node.properties()) {
      String name = entry.getKey();
      String fieldPath = child(path, name);
      FieldDescriptor field = findField(type, name);
      if (field == null) {
        out.add(new Problem(fieldPath, "unknown field (known fields: " + knownFields(type) + ")"));
        continue;
      }
      JsonNode value = entry.getValue();
      if (value.isNull()) {
        continue; // "key:" with nothing after it in YAML: treated as absent
      }
      OneofDescriptor oneof = field.getRealContainingOneof();
      if (oneof != null) {
        String previous = oneofsSet.putIfAbsent(oneof, field.getName());
        if (previous != null) {
          out.add(
              new Problem(
                  fieldPath,
                  "cannot be set together with "
                      + previous
                      + " (set only one of "
                      + oneof.getFields().stream()
                          .map(FieldDescriptor::getName)
                          .collect(Collectors.joining(", "))
                      + ")"));
          continue;
        }
      }
      if (field.isMapField()) {
        decodeMap(value, builder, field, fieldPath, out);
      } else if (field.isRepeated()) {
        if (!value.isArray()) {
          out.add(new Problem(fieldPath, "expected a list, got " + describe(value)));
          continue;
        }
        for (int i = 0; i < value.size(); i++) {
          Object element = decodeValue(value.get(i), builder, field, index(fieldPath, i), out);
          if (element != null) {
            builder.addRepeatedField(field, element);
          }
        }
      } else {
        Object single = decodeValue(value, builder, field, fieldPath, out);
        if (single != null) {
          builder.setField(field, single);
        }
      }
    }
  }

  private static void decodeMap(
      JsonNode value,
      Message.Builder builder,
      FieldDescriptor field,
      String path,
      List<Problem> out) {
    if (!value.isObject()) {
      out.add(new Problem(path, "expected an object of key: value pairs, got " + describe(value)));
      return;
    }
    Descriptor entryType = field.getMessageType();
    FieldDescriptor keyField = entryType.findFieldByName("key");
    FieldDescriptor valueField = entryType.findFieldByName("value");
    for (Map.Entry<String, JsonNode> entry : value.properties()) {
      String entryPath = path + "[" + entry.getKey() + "]";
      if (keyField.getJavaType() != FieldDescriptor.JavaType.STRING) {
        out.add(new Problem(entryPath, "only text keys are supported here"));
        continue;
      }
      Message.Builder entryBuilder = builder.newBuilderForField(field);
      Object decoded = decodeValue(entry.getValue(), entryBuilder, valueField, entryPath, out);
      if (decoded != null) {
        entryBuilder.setField(keyField, entry.getKey());
        entryBuilder.setField(valueField, decoded);
        builder.addRepeatedField(field, entryBuilder.build());
      }
    }
  }

  /** One value of {@code field}; null (with a problem recorded) when it does not fit. */
  private static Object decodeValue(
      JsonNode node,
      Message.Builder parent,
      FieldDescriptor field,
      String path,
      List<Problem> out) {
    switch (field.getJavaType()) {
      case MESSAGE:
        {
          Message.Builder nested = parent.newBuilderForField(field);
          int before = out.size();
          decodeMessage(node, nested, path, out);
          return out.size() > before && !node.isObject() ? null : nested.build();
        }
      case STRING:
        if (!node.isTextual()) {
          return mismatch(out, path, "a string", node, node.isNumber() ? " (quote it)" : "");
        }
        return node.textValue();
      case BOOLEAN:
        if (!node.isBoolean()) {
          return mismatch(out, path, "true or false", node, "");
        }
        return node.booleanValue();
      case ENUM:
        return decodeEnum(node, field.getEnumType(), path, out);
      case INT:
      case LONG:
        return decodeInteger(node, field, path, out);
      case FLOAT:
      case DOUBLE:
        if (!node.isNumber()) {
          return mismatch(out, path, "a number", node, "");
        }
        return field.getJavaType() == FieldDescriptor.JavaType.FLOAT
            ? (Object) node.floatValue()
            : node.doubleValue();
      default:
        out.add(
            new Problem(
                path, "fields of type " + field.getType() + " are not supported in this document"));
        return null;
    }
  }

  private static Object decodeInteger(
      JsonNode node, FieldDescriptor field, String path, List<Problem> out) {
    if (!node.isNumber()) {
      return mismatch(out, path, "a whole number", node, "");
    }
    if (!node.isIntegralNumber()) {
      out.add(new Problem(path, "expected a whole number, got " + node.asText()));
      return null;
    }
    if (!node.canConvertToLong()) {
      out.add(new Problem(path, node.asText() + " is too large"));
      return null;
    }
    long value = node.longValue();
    boolean unsigned =
        switch (field.getType()) {
          case UINT32, FIXED32, UINT64, FIXED64 -> true;
          default -> false;
        };
    if (unsigned && value < 0) {
      out.add(new Problem(path, value + " is negative; must be 0 or more"));
      return null;
    }
    if (field.getJavaType() == FieldDescriptor.JavaType.LONG) {
      return value;
    }
    long min = unsigned ? 0 : Integer.MIN_VALUE;
    long max = unsigned ? UINT32_MAX : Integer.MAX_VALUE;
    if (value < min || value > max) {
      out.add(new Problem(path, value + " is too large"));
      return null;
    }
    return (int) value; // uint32 travels in an int, as protobuf-java stores it
  }

  private static Object decodeEnum(
      JsonNode node, EnumDescriptor type, String path, List<Problem> out) {
    List<String> allowed =
        type.getValues().stream()
            .filter(v -> v.getNumber() != 0)
            .map(EnumValueDescriptor::getName)
            .toList();
    if (!node.isTextual()) {
      return mismatch(out, path, "one of " + String.join(", ", allowed), node, "");
    }
    EnumValueDescriptor value = type.findValueByName(node.textValue());
    if (value == null || value.getNumber() == 0) {
      out.add(
          new Problem(
              path, "\"" + node.textValue() + "\" is not one of " + String.join(", ", allowed)));
      return null;
    }
    return value;
  }

  private static Object mismatch(
      List<Problem> out, String path, String expected, JsonNode node, String hint) {
    out.add(new Problem(path, "expected " + expected + ", got " + describe(node) + hint));
    return null;
  }

  private static FieldDescriptor findField(Descriptor type, String name) {
    FieldDescriptor byName = type.findFieldByName(name);
    if (byName != null) {
      return byName;
    }
    for (FieldDescriptor field : type.getFields()) {
      if (field.getJsonName().equals(name)) {
        return field;
      }
    }
    return null;
  }

  private static String knownFields(Descriptor type) {
    return type.getFields().stream()
        .map(FieldDescriptor::getName)
        .collect(Collectors.joining(", "));
  }

  static String describe(JsonNode node) {
    if (node.isObject()) {
      return "an object";
    }
    if (node.isArray()) {
      return "a list";
    }
    if (node.isTextual()) {
      String text = node.textValue();
      return "string \"" + (text.length() > 40 ? text.substring(0, 40) + "…" : text) + "\"";
    }
    if (node.isBoolean()) {
      return "boolean " + node.asText();
    }
    if (node.isNumber()) {
      return "number " + node.asText();
    }
    return node.getNodeType().toString().toLowerCase(java.util.Locale.ROOT);
  }
}
