package dev.envoyagent.arch;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The package diagram of docs/architecture.md, as rules: the CLI on top, the composition root
 * ({@code agent}) below it, leaf packages that do not use each other, and {@code config} and {@code
 * support} under all of them. A new edge fails the build.
 */
class PackageRulesTest {

  private static final String ROOT = "dev.envoyagent";
  private static final List<String> LEAVES =
      List.of("source", "render", "apply", "envoy", "health", "ec2", "metrics");

  private static JavaClasses main;

  @BeforeAll
  static void importMain() {
    main =
        new ClassFileImporter()
            .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
            .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_JARS)
            .importPackages(ROOT);
  }

  /** The one edge between leaves, along the data flow: apply writes what render produced. */
  private static final java.util.Map<String, List<String>> ALLOWED =
      java.util.Map.of("apply", List.of("render"));

  @Test
  void leafPackagesDoNotUseEachOther() {
    List<String> violations = new java.util.ArrayList<>();
    for (String leaf : LEAVES) {
      String[] others =
          LEAVES.stream()
              .filter(other -> !other.equals(leaf))
              .filter(other -> !ALLOWED.getOrDefault(leaf, List.of()).contains(other))
              .map(other -> ROOT + "." + other + "..")
              .toArray(String[]::new);
      try {
        noClasses()
            .that()
            .resideInAPackage(ROOT + "." + leaf + "..")
            .should()
            .dependOnClassesThat()
            .resideInAnyPackage(others)
            .because("leaf packages meet only in the composition root (docs/architecture.md)")
            .check(main);
      } catch (AssertionError e) {
        violations.add(e.getMessage());
      }
    }
    if (!violations.isEmpty()) {
      throw new AssertionError(String.join("\n", violations));
    }
  }

  @Test
  void nothingBelowTheCompositionRootUsesItOrTheCommandLine() {
    String[] below = LEAVES.stream().map(leaf -> ROOT + "." + leaf + "..").toArray(String[]::new);
    noClasses()
        .that()
        .resideInAnyPackage(below)
        .or()
        .resideInAnyPackage(ROOT + ".config..", ROOT + ".support..")
        .should()
        .dependOnClassesThat()
        .resideInAnyPackage(ROOT + ".agent..", ROOT + ".cli..")
        .check(main);
  }

  @Test
  void configAndSupportAreAtTheBottom() {
    noClasses()
        .that()
        .resideInAnyPackage(ROOT + ".config..", ROOT + ".support..")
        .should()
        .dependOnClassesThat()
        .resideInAnyPackage(
            LEAVES.stream().map(leaf -> ROOT + "." + leaf + "..").toArray(String[]::new))
        .check(main);
  }

  @Test
  void onlyTheCommandLineTouchesTheControlPlaneServer() {
    noClasses()
        .that()
        .resideOutsideOfPackages(ROOT + ".cli..", ROOT + ".controlplane..")
        .should()
        .dependOnClassesThat()
        .resideInAPackage(ROOT + ".controlplane..")
        .because("the control plane is its own program, run through the CLI")
        .check(main);
  }

  @Test
  void nothingShippedUsesTheTestkit() {
    noClasses()
        .should()
        .dependOnClassesThat()
        .resideInAPackage(ROOT + ".testkit..")
        .because("testkit is test support, never shipped to hosts")
        .check(main);
  }
}
