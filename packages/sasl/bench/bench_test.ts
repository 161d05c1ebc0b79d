// The quick mode of `npm run bench`, so that the bench cannot rot: every case runs (briefly) on
// every runtime and against every anchor, and the report names each target. Its figures are
// not read: timings this short on a shared machine mean nothing.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

Deno.test("bench --quick: every case runs against its anchor and the report names every target", () => {
  const dir = mkdtempSync(join(tmpdir(), "saslkit-bench-"));
  try {
    const out = join(dir, "RESULTS.md");
    const root = new URL("../../../", import.meta.url).pathname;
    execFileSync("node", ["packages/sasl/bench/run.mjs", "--quick", "--out", out], {
      cwd: root,
      stdio: ["ignore", "ignore", "pipe"],
    });
    const report = readFileSync(out, "utf8");
    for (
      const row of [
        "1. exchange, deno",
        "1. exchange, node",
        "1. exchange, bun",
        "2. client step, node",
        "3. wrap+unwrap auth-int 4 KiB c2s",
        "3. wrap+unwrap 3des 4 KiB c2s",
        "3. wrap+unwrap rc4-40 4 KiB c2s",
        "4. SCRAM-SHA-256 exchange, 4096 it., deno",
        "5. bundle, DigestMd5Client only",
        "5. bundle, PlainClient only",
        "5. bundle, ScramClient only",
        "5. cold import of @saslkit/sasl, Node",
      ]
    ) {
      // deno fmt pads the table's cells.
      const escaped = row.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
      const line = report.split("\n").find((l) => new RegExp(`^\\| ${escaped}\\s+\\|`).test(l));
      assert.ok(line, `the report has no row for ${row}`);
      // Every figure and its anchor were measured: no n/a, and a verdict.
      assert.doesNotMatch(line, /n\/a|not measured|NaN/, line);
      assert.match(line, /\| (met|\*\*missed\*\*)\s*\|$/, line);
    }
    assert.match(report, /Load average/);
    // deno fmt may wrap the line.
    assert.match(
      report.replace(/\s+/g, " "),
      /MD5 backends chosen: deno: noble.*node: node:crypto; bun: node:crypto/,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
