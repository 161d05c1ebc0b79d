// Runs `deno doc --lint` on every export of every package under packages/, as JSR scores them:
// missing JSDoc, missing return types and private types leaking into the public API all fail.
// (The examples inside the JSDoc are type-checked and run by scripts/deno_test.mjs.)

import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join, relative } from "node:path";
import { ENV, exportFiles, fail, header, packageDirs, readJson, ROOT } from "./_workspace.mjs";

let linted = 0;
// Every package is linted even after one fails, so one run shows all problems.
const failed = [];
for (const dir of packageDirs()) {
  const denoJsonPath = join(dir, "deno.json");
  const where = relative(ROOT, dir);
  if (!existsSync(denoJsonPath)) fail(`${where} has no deno.json`);
  const denoJson = readJson(denoJsonPath);
  const files = exportFiles(denoJson).map((file) => join(dir, file));
  if (files.length === 0) fail(`${where}/deno.json has no "exports"`);
  for (const file of files) {
    if (!existsSync(file)) fail(`${relative(ROOT, file)} is exported by ${where} but missing`);
  }
  header(`deno doc --lint ${denoJson.name ?? where}`);
  const args = ["doc", "--lint", ...files.map((file) => relative(ROOT, file))];
  console.log(`$ deno ${args.join(" ")}`);
  const result = spawnSync("deno", args, { cwd: ROOT, env: ENV, stdio: "inherit" });
  if (result.error) fail(`deno could not be started: ${result.error.message}`);
  if (result.status !== 0) failed.push(denoJson.name ?? where);
  linted += files.length;
}
if (failed.length) fail(`deno doc --lint found problems in ${failed.join(", ")}`);
console.log(`\ndoc lint: ${linted} export file(s) of ${packageDirs().length} package(s) clean`);
