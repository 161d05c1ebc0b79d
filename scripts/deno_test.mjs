// Runs `deno test` over the whole workspace (or over the paths given as arguments), JSDoc
// examples included, streams deno's output, and ends with one plain line `N passed, M failed`
// taken from deno's summary. Exits with deno's exit code.
//
//   node scripts/deno_test.mjs [deno test arguments, e.g. paths or --filter NAME]

import { spawn } from "node:child_process";
import { ENV, ROOT } from "./_workspace.mjs";

const PERMISSIONS = [
  "--allow-read",
  "--allow-write",
  "--allow-env",
  "--allow-run",
  "--allow-net=127.0.0.1,localhost",
  "--allow-sys",
];
// --doc type-checks and runs every ```ts block in the JSDoc, so examples cannot rot; the fuzz
// test's memory check needs a collection on demand (--expose-gc).
const args = [
  "test",
  ...PERMISSIONS,
  "--v8-flags=--expose-gc",
  "--doc",
  ...process.argv.slice(2),
];
console.log(`$ deno ${args.join(" ")}`);

const child = spawn("deno", args, { cwd: ROOT, env: ENV, stdio: ["inherit", "pipe", "inherit"] });
// Only the tail is needed: deno prints its summary last.
let tail = "";
child.stdout.on("data", (chunk) => {
  process.stdout.write(chunk);
  tail = (tail + chunk.toString("utf8")).slice(-16384);
});
child.on("error", (error) => {
  console.error(`deno could not be started: ${error.message}`);
  process.exit(1);
});
child.on("close", (code, signal) => {
  // deno's summary: `ok | 12 passed (3 steps) | 0 failed (1s)` or `FAILED | 3 passed | 1 failed …`
  // deno-lint-ignore no-control-regex
  const plain = tail.replace(/\x1b\[[0-9;]*m/g, "");
  const summaries = [
    ...plain.matchAll(/^(?:ok|FAILED) \| (\d+) passed(?: \(\d+ steps?\))? \| (\d+) failed/gm),
  ];
  const last = summaries.at(-1);
  const exitCode = code ?? 1;
  if (!last) {
    console.error(
      `\ndeno test ended (${signal ?? `exit code ${code}`}) without a summary: no tests ran`,
    );
  }
  console.log(`\n${last ? last[1] : 0} passed, ${last ? last[2] : 0} failed`);
  process.exit(exitCode);
});
