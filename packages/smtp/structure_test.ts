// What the package promises about its own shape: no import cycles among its modules, a root
// export of what applications call (internals behind ./low-level), full package metadata and
// README links that work on npm and JSR.
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import * as root from "./mod.ts";
import * as lowLevel from "./low_level.ts";

const HERE = fileURLToPath(new URL(".", import.meta.url));
const ROOT = resolve(HERE, "../..");

function libraryFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      return ["interop", "testdata", "dist", "node_modules"].includes(entry.name)
        ? []
        : libraryFiles(path);
    }
    return entry.name.endsWith(".ts") && !entry.name.endsWith("_test.ts") ? [path] : [];
  });
}

Deno.test("no import cycles among the package's modules (type imports included)", () => {
  const graph = new Map<string, string[]>();
  for (const file of libraryFiles(HERE)) {
    const text = readFileSync(file, "utf8");
    const imports = [...text.matchAll(/^(?:import|export)[^;]*? from "(\.[^"]+)";/gms)]
      .map((m) => resolve(dirname(file), m[1]));
    graph.set(file, imports);
  }
  const cycles: string[] = [];
  const state = new Map<string, "visiting" | "done">();
  const visit = (file: string, path: string[]) => {
    if (state.get(file) === "done") return;
    if (state.get(file) === "visiting") {
      cycles.push(
        [...path.slice(path.indexOf(file)), file].map((f) => relative(HERE, f)).join(" -> "),
      );
      return;
    }
    state.set(file, "visiting");
    for (const next of graph.get(file) ?? []) visit(next, [...path, file]);
    state.set(file, "done");
  };
  for (const file of graph.keys()) visit(file, []);
  assert.deepEqual(cycles, []);
});

Deno.test("the root export holds what users call; the internals are in ./low-level", () => {
  const internals = [
    "ReplyParser",
    "formatReply",
    "parseEhlo",
    "parseEhloAuth",
    "describeChallenge",
    "redactClientMessage",
    "orderByMemory",
    "classifyAuthFailure",
    "encodeHeaderText",
    "formatMailbox",
  ];
  for (const name of internals) {
    assert.ok(!(name in root), `${name} is in the root export`);
    assert.equal(typeof (lowLevel as Record<string, unknown>)[name], "function", name);
  }
  for (
    const name of [
      "authenticate",
      "SmtpSession",
      "SmtpError",
      "SmtpAuthError",
      "SmtpSendError",
      "buildMessage",
      "parseMailbox",
      "connectTcp",
      "connectDeno",
      "InMemoryMechanismMemory",
    ]
  ) {
    assert.equal(typeof (root as Record<string, unknown>)[name], "function", name);
  }
  const deno = JSON.parse(readFileSync(join(HERE, "deno.json"), "utf8"));
  const npm = JSON.parse(readFileSync(join(HERE, "package.json"), "utf8"));
  assert.equal(deno.exports["./low-level"], "./low_level.ts");
  assert.equal(npm.exports["./low-level"].default, "./dist/low_level.js");
});

Deno.test("every package has repository, homepage, bugs and keywords; READMEs link absolutely", () => {
  for (const name of readdirSync(join(ROOT, "packages"))) {
    const dir = join(ROOT, "packages", name);
    const manifest = JSON.parse(readFileSync(join(dir, "package.json"), "utf8"));
    assert.deepEqual(manifest.repository, {
      type: "git",
      url: "https://github.com/saslkit/saslkit",
      directory: `packages/${name}`,
    });
    assert.match(manifest.homepage, /^https:\/\/github\.com\/saslkit\/saslkit\//);
    assert.equal(manifest.bugs.url, "https://github.com/saslkit/saslkit/issues");
    assert.ok(Array.isArray(manifest.keywords) && manifest.keywords.length >= 3, name);
    const readme = readFileSync(join(dir, "README.md"), "utf8");
    const relativeLinks = [...readme.matchAll(/\]\((?!https?:\/\/|#|mailto:)([^)]+)\)/g)]
      .map((m) => m[1]);
    assert.deepEqual(relativeLinks, [], `${name}/README.md: links that die on npm and JSR`);
  }
});
