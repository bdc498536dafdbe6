package io.convkit.nn;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.convkit.nn.tables.TableCheck;
import io.convkit.nn.tables.TableRow;
import java.util.List;
import org.junit.jupiter.api.Test;

class TableCheckTest {
  private static final List<TableCheck.Result> RESULTS = TableCheck.run();

  @Test
  void noRowFails() {
    for (TableCheck.Result r : RESULTS) {
      assertTrue(r.status() != TableCheck.Status.FAIL, r.row().id() + ": " + r.computed() + " -- "
          + r.note());
    }
  }

  @Test
  void everyTableIsCopiedAndChecked() {
    assertEquals(143, RESULTS.size());
    for (int t = 1; t <= 10; t++) {
      String table = "T" + t;
      assertTrue(RESULTS.stream().anyMatch(r -> r.row().table().equals(table)), table);
    }
  }

  @Test
  void explainedRowsNameASpecificReason() {
    for (TableCheck.Result r : RESULTS) {
      if (r.status() == TableCheck.Status.EXPLAINED) {
        String n = r.note();
        assertTrue(n.startsWith("different convention") || n.startsWith("different variant")
            || n.startsWith("arithmetic slip") || n.startsWith("the source")
            || n.startsWith("a different variant"), r.row().id() + ": " + n);
        assertTrue(n.matches(".*\\d.*"), "a reason quotes figures: " + n);
        assertFalse(r.computed().isEmpty());
      }
    }
  }

  @Test
  void vgg16PerLayerRowsAllPass() {
    long t4 = RESULTS.stream().filter(r -> r.row().table().equals("T4")
        && r.row().id().matches("T4\\.\\d\\d\\..*")).peek(r -> assertEquals(
            TableCheck.Status.PASS, r.status(), r.row().id() + " " + r.computed())).count();
    assertEquals(44, t4);
  }

  @Test
  void knownDisagreementsAreExplainedNotPassed() {
    for (String id : new String[] {"T5.bottleneck.total", "T2.vgg16.macs", "T3.params",
        "T7.ratio", "T10.alexnet.neurons"}) {
      assertEquals(TableCheck.Status.EXPLAINED, RESULTS.stream()
          .filter(r -> r.row().id().equals(id)).findFirst().orElseThrow().status(), id);
    }
  }

  @Test
  void printedPrecision() {
    TableRow a = new TableRow("x", "T", "w", "569", "M");
    assertEquals(568.5e6, a.interval()[0], 1e-3);
    assertEquals(569.5e6, a.interval()[1], 1e-3);
    TableRow b = new TableRow("x", "T", "w", "4.2", "M");
    assertEquals(4.15e6, b.interval()[0], 1e-3);
    TableRow c = new TableRow("x", "T", "w", "15300", "M");
    assertEquals(15250e6, c.interval()[0], 1e-3);
    TableRow d = new TableRow("x", "T", "w", "3.2M", "1");
    assertEquals(3.25e6, d.interval()[1], 1e-3);
  }
}
