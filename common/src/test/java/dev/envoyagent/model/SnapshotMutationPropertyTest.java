package dev.envoyagent.model;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.regex.Pattern;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;

/** Random damage to a valid snapshot is either harmless or reported with a path, never a crash. */
class SnapshotMutationPropertyTest {

  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Pattern PATH =
      Pattern.compile(
          "([a-z_][a-z0-9_]*(\\[[^\\]]+])*)(\\.[a-z_][a-z0-9_]*(\\[[^\\]]+])*)*",
          Pattern.CASE_INSENSITIVE);

  enum Op {
    REMOVE,
    REPLACE,
    ADD_UNKNOWN,
    DUPLICATE_ELEMENT,
    CLEAR
  }

  record Mutation(Op op, int target, JsonNode value, String name) {}

  @Property(tries = 1000)
  void mutatedSnapshotsValidateOrFailWithPaths(@ForAll("mutations") List<Mutation> mutations)
      throws Exception {
    JsonNode tree = new YAMLMapper().readTree(RouteSnapshotsTest.example());
    for (Mutation mutation : mutations) {
      apply(tree, mutation);
    }
    byte[] document = JSON.writeValueAsBytes(tree);
    try {
      RouteSnapshots.parse(document);
    } catch (InvalidInputException e) {
      assertThat(e.problems()).isNotEmpty();
      for (Problem problem : e.problems()) {
        assertThat(problem.reason()).isNotBlank();
        if (!problem.path().isEmpty()) {
          assertThat(problem.path()).matches(PATH);
        }
      }
    }
  }

  @Provide
  Arbitrary<List<Mutation>> mutations() {
    Arbitrary<JsonNode> values =
        Arbitraries.oneOf(
            Arbitraries.strings()
                .ofMaxLength(70)
                .map(s -> (JsonNode) JsonNodeFactory.instance.textNode(s)),
            Arbitraries.longs().map(l -> (JsonNode) JsonNodeFactory.instance.numberNode(l)),
            Arbitraries.integers()
                .between(-5, 70_000)
                .map(i -> (JsonNode) JsonNodeFactory.instance.numberNode(i)),
            Arbitraries.doubles().map(d -> (JsonNode) JsonNodeFactory.instance.numberNode(d)),
            Arbitraries.of(true, false)
                .map(b -> (JsonNode) JsonNodeFactory.instance.booleanNode(b)),
            Arbitraries.of(
                    "HTTP", "TCP", "GRPC", "users-api", "/", "10.0.0.1", "::1", "5xx", "nope")
                .map(s -> (JsonNode) JsonNodeFactory.instance.textNode(s)),
            Arbitraries.just(JsonNodeFactory.instance.nullNode()),
            Arbitraries.just(JsonNodeFactory.instance.objectNode()),
            Arbitraries.just(JsonNodeFactory.instance.arrayNode()));
    Arbitrary<Mutation> mutation =
        Combinators.combine(
                Arbitraries.of(Op.class),
                Arbitraries.integers().between(0, 200),
                values,
                Arbitraries.strings().withCharRange('a', 'z').ofMinLength(1).ofMaxLength(12))
            .as(Mutation::new);
    return mutation.list().ofMinSize(1).ofMaxSize(5);
  }

  /** Applies a mutation to the target-th container node (depth-first) of the tree. */
  private static void apply(JsonNode tree, Mutation mutation) {
    List<JsonNode> containers = new ArrayList<>();
    collect(tree, containers);
    JsonNode node = containers.get(mutation.target() % containers.size());
    if (node instanceof ObjectNode object) {
      List<String> names = new ArrayList<>();
      object.fieldNames().forEachRemaining(names::add);
      String field =
          names.isEmpty() ? mutation.name() : names.get(mutation.target() % names.size());
      switch (mutation.op()) {
        case REMOVE -> object.remove(field);
        case REPLACE -> object.set(field, mutation.value().deepCopy());
        case ADD_UNKNOWN -> object.set(mutation.name(), mutation.value().deepCopy());
        case DUPLICATE_ELEMENT, CLEAR -> object.removeAll();
      }
    } else if (node instanceof ArrayNode array) {
      int i = array.isEmpty() ? 0 : mutation.target() % array.size();
      switch (mutation.op()) {
        case REMOVE -> {
          if (!array.isEmpty()) {
            array.remove(i);
          }
        }
        case REPLACE, ADD_UNKNOWN -> array.add(mutation.value().deepCopy());
        case DUPLICATE_ELEMENT -> {
          if (!array.isEmpty()) {
            array.add(array.get(i).deepCopy());
          }
        }
        case CLEAR -> array.removeAll();
      }
    }
  }

  private static void collect(JsonNode node, List<JsonNode> out) {
    if (node.isContainerNode()) {
      out.add(node);
      Iterator<JsonNode> children = node.elements();
      while (children.hasNext()) {
        collect(children.next(), out);
      }
    }
  }
}
