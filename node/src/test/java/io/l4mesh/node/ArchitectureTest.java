package io.l4mesh.node;

import static com.tngtech.archunit.core.domain.JavaClass.Predicates.resideInAPackage;
import static com.tngtech.archunit.core.domain.JavaClass.Predicates.resideInAnyPackage;
import static com.tngtech.archunit.core.domain.JavaClass.Predicates.resideOutsideOfPackage;
import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.tngtech.archunit.core.domain.JavaClass;
import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import com.tngtech.archunit.lang.ArchRule;
import com.tngtech.archunit.library.dependencies.SliceAssignment;
import com.tngtech.archunit.library.dependencies.SliceIdentifier;
import com.tngtech.archunit.library.dependencies.SlicesRuleDefinition;
import org.junit.jupiter.api.Test;

/**
 * The product's package graph (the README's "Layout" section): no package cycles, {@code config} a leaf, the modules'
 * boundaries (hashring depends on nothing of ours, membership knows nothing of node), the admin server on its narrow
 * interface, no lab, benchmark or chaos code in the product, no Java deserialization. Product code only (main classes
 * of node, membership and hashring); the rules are also run against a deliberately broken fixture to show they fail.
 */
class ArchitectureTest {
    private static final JavaClasses PRODUCT = new ClassFileImporter()
        .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
        .importPackages("io.l4mesh");

    /** Every package its own slice (the root package too, so a cycle through {@code Node} counts). */
    private static final SliceAssignment BY_PACKAGE = new SliceAssignment() {
        @Override
        public SliceIdentifier getIdentifierOf(JavaClass c) {
            return c.getPackageName().startsWith("io.l4mesh") ? SliceIdentifier.of(c.getPackageName())
                : SliceIdentifier.ignore();
        }

        @Override
        public String getDescription() {
            return "each io.l4mesh package";
        }
    };

    static final ArchRule NO_PACKAGE_CYCLES = SlicesRuleDefinition.slices().assignedFrom(BY_PACKAGE).should()
        .beFreeOfCycles();

    static final ArchRule NO_JAVA_DESERIALIZATION = noClasses().should().dependOnClassesThat()
        .areAssignableTo(java.io.ObjectInputStream.class)
        .because("gossip, sync and admin input is untrusted: decode it field by field");

    @Test
    void productPackagesHaveNoCycles() {
        assertTrue(PRODUCT.contain(Node.class) && PRODUCT.contain(io.l4mesh.membership.Membership.class)
            && PRODUCT.contain(io.l4mesh.hashring.MaglevTable.class), "imports all three product modules");
        assertTrue(!PRODUCT.contain(io.l4mesh.node.archfixture.a.Upper.class), "test classes are not product");
        NO_PACKAGE_CYCLES.check(PRODUCT);
    }

    @Test
    void configIsALeafOfTheNode() {
        noClasses().that().resideInAPackage("io.l4mesh.node.config..").should().dependOnClassesThat(
                resideInAPackage("io.l4mesh.node..").and(resideOutsideOfPackage("io.l4mesh.node.config..")))
            .check(PRODUCT);
    }

    @Test
    void modulesKeepTheirBoundaries() {
        noClasses().that().resideInAPackage("io.l4mesh.hashring..").should().dependOnClassesThat()
            .resideInAnyPackage("io.l4mesh.membership..", "io.l4mesh.node..", "io.l4mesh.chaos..")
            .check(PRODUCT);
        noClasses().that().resideInAPackage("io.l4mesh.membership..").should().dependOnClassesThat()
            .resideInAnyPackage("io.l4mesh.node..", "io.l4mesh.chaos..")
            .check(PRODUCT);
    }

    @Test
    void theProductCarriesNoLabBenchOrChaosCode() {
        noClasses().should().resideInAnyPackage("io.l4mesh.chaos..", "..lab..", "..bench..")
            .because("the lab and the benchmarks drive nodes from outside: they live in the chaos module")
            .check(PRODUCT);
        noClasses().should().dependOnClassesThat(resideInAnyPackage("io.l4mesh.chaos..", "..lab..", "..bench.."))
            .check(PRODUCT);
    }

    @Test
    void theAdminServerSeesANarrowInterfaceNotTheNode() {
        noClasses().that().resideInAPackage("io.l4mesh.node.admin..").should().dependOnClassesThat()
            .resideInAPackage("io.l4mesh.node")
            .because("the admin API depends on admin.NodeControl, which Node implements")
            .check(PRODUCT);
    }

    @Test
    void noJavaDeserialization() {
        NO_JAVA_DESERIALIZATION.check(PRODUCT);
    }

    @Test
    void theRulesRejectACycleAndADeserializer() {
        JavaClasses broken = new ClassFileImporter().importPackages("io.l4mesh.node.archfixture");
        AssertionError cycle = assertThrows(AssertionError.class, () -> NO_PACKAGE_CYCLES.check(broken));
        assertTrue(cycle.getMessage().contains("archfixture.a") && cycle.getMessage().contains("archfixture.b"),
            cycle.getMessage());
        assertThrows(AssertionError.class, () -> NO_JAVA_DESERIALIZATION.check(broken));
    }
}
