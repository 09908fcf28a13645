import { describe, expect, it } from "vitest";
import { codeLines, functionLines, patchDiffstat, patchFunctions, stripComments } from "./code-size.ts";

describe("codeLines", () => {
  it("skips blank lines and comments of both kinds, keeps code after or before a comment", () => {
    const ts = [
      "// a comment",
      "const a = 1; // trailing",
      "",
      "/* block",
      "   still comment */ const b = 2;",
      "/** doc */",
      "   ",
      "const url = \"wisp://x\"; // the // in the string is code",
    ].join("\n");
    expect(codeLines(ts)).toBe(3);
  });

  it("keeps quotes and escapes in strings intact", () => {
    expect(stripComments("s = 'it\\'s /* not */ a comment';")).toBe("s = 'it\\'s /* not */ a comment';");
    expect(codeLines("x = `a\n// inside a template\n`;")).toBe(3);
  });
});

const PATCH = `diff --git a/drivers/virtio/virtio_mmio.c b/drivers/virtio/virtio_mmio.c
--- a/drivers/virtio/virtio_mmio.c
+++ b/drivers/virtio/virtio_mmio.c
@@ -1,3 +1,30 @@
 #include <linux/irq.h>
+static void vm_msi_table_mask(struct irq_data *d);
+
+/* Masks a vector. */
+static void vm_msi_table_mask(struct irq_data *d)
+{
+	struct virtio_mmio_device *vm_dev = irq_data_get_irq_chip_data(d);
+
+	vm_msi_table_cmd(vm_dev, d->hwirq, VIRTIO_MMIO_MSI_CMD_MASK); /* one command */
+}
+
+static irqreturn_t vm_msi_pq_shared_interrupt(int irq, void *opaque)
+{
+	return IRQ_HANDLED;
+}
 static int vm_finalize_features(struct virtio_device *vdev)
 {
+	int x = 0;
 	return 0;
 }
+static const char *vm_msi_pq_name(unsigned int i,
+				  bool shared)
+{
+	if (shared)
+		return "x";
+	return "y";
+}
`;

describe("patchFunctions", () => {
  it("finds the functions added whole, not declarations or functions only touched", () => {
    const fns = patchFunctions(PATCH);
    expect(fns.map((f) => [f.name, f.lines])).toEqual([
      ["vm_msi_table_mask", 5],
      ["vm_msi_pq_shared_interrupt", 4],
      ["vm_msi_pq_name", 7],
    ]);
    expect(fns[0]!.file).toBe("drivers/virtio/virtio_mmio.c");
    expect(functionLines(fns, /^vm_msi_pq_/)).toEqual({ functions: 2, lines: 11 });
    expect(functionLines(fns, /^vm_msi_table_/)).toEqual({ functions: 1, lines: 5 });
  });
});

describe("patchDiffstat", () => {
  it("counts each hunk's added and removed lines per file, not the mail around them", () => {
    const patch = [
      "Subject: [PATCH] x",
      "---",
      " a.c | 3 ++-",
      "",
      "diff --git a/a.c b/a.c",
      "--- a/a.c",
      "+++ b/a.c",
      "@@ -1,3 +1,4 @@",
      " keep",
      "-- gone: a removed line that looks like a signature",
      "+new one",
      "+new two",
      " keep",
      "diff --git a/b/c.h b/b/c.h",
      "new file mode 100644",
      "--- /dev/null",
      "+++ b/b/c.h",
      "@@ -0,0 +1 @@",
      "+#define X 1",
      "-- ",
      "2.39.5",
    ].join("\n");
    expect(patchDiffstat(patch)).toEqual([
      { file: "a.c", added: 2, removed: 1 },
      { file: "b/c.h", added: 1, removed: 0 },
    ]);
  });
});
