// Checks the rules that keep the workspace publishable to JSR and npm from one source. Each rule is
// its own step, and each step lists every violation it finds, not just the first.

import assert from "node:assert/strict";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";

const ROOT = fileURLToPath(new URL("..", import.meta.url));

/** Lower layers first: a package may import only packages listed before it. */
const LAYERS = ["@saslkit/sasl", "@saslkit/smtp", "@saslkit/adapters"];

/** Directories whose files are not shipped (tests, interop rigs, examples, data, benchmarks). */
const UNSHIPPED_DIRS = new Set(["interop", "examples", "testdata", "bench"]);
const SKIPPED_DIRS = new Set(["dist", "node_modules"]);

type Json = Record<string, unknown>;
type Deps = Record<string, string>;

interface Source {
  /** Path relative to the repo root, for messages. */
  path: string;
  /** Shipped library code, as opposed to a test, interop rig, example or benchmark. */
  library: boolean;
  specifiers: string[];
}

interface Package {
  /** Directory relative to the repo root, as the workspaces name it (`packages/sasl`). */
  path: string;
  packageJson: Json;
  denoJson: Json;
  sources: Source[];
}

function readJson(path: string): Json {
  return JSON.parse(readFileSync(path, "utf8"));
}

function deps(manifest: Json, ...fields: string[]): Deps {
  return Object.assign({}, ...fields.map((field) => (manifest[field] ?? {}) as Deps));
}

function walk(dir: string, within: string[] = []): { file: string; within: string[] }[] {
  const out: { file: string; within: string[] }[] = [];
  for (
    const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) =>
      a.name < b.name ? -1 : 1
    )
  ) {
    if (entry.name.startsWith(".")) continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      if (!SKIPPED_DIRS.has(entry.name)) out.push(...walk(path, [...within, entry.name]));
    } else if (/\.m?tsx?$/.test(entry.name) && !entry.name.endsWith(".d.ts")) {
      out.push({ file: path, within });
    }
  }
  return out;
}

/** Every import/export/dynamic-import specifier, found by TypeScript's scanner so comments don't count. */
function specifiersOf(file: string): string[] {
  const info = ts.preProcessFile(readFileSync(file, "utf8"), true, true);
  return info.importedFiles.map((imported) => imported.fileName);
}

function loadPackage(path: string): Package {
  const dir = join(ROOT, path);
  const sources = walk(dir).map(({ file, within }) => ({
    path: relative(ROOT, file),
    library: !/[._]test\.m?tsx?$/.test(file) && !within.some((d) => UNSHIPPED_DIRS.has(d)),
    specifiers: specifiersOf(file),
  }));
  return {
    path,
    packageJson: readJson(join(dir, "package.json")),
    denoJson: readJson(join(dir, "deno.json")),
    sources,
  };
}

/** `@scope/name/sub/path` → `@scope/name`, `name/sub` → `name`; undefined when not bare. */
function bareName(specifier: string): string | undefined {
  if (specifier.startsWith(".") || specifier.startsWith("/")) return undefined;
  if (/^[a-z][a-z0-9+.-]*:/i.test(specifier)) return undefined; // node:, npm:, jsr:, https:, data:
  const parts = specifier.split("/");
  return specifier.startsWith("@") ? parts.slice(0, 2).join("/") : parts[0];
}

function exportMap(exports: unknown): Record<string, unknown> {
  if (typeof exports === "string") return { ".": exports };
  if (exports && typeof exports === "object") {
    const keys = Object.keys(exports);
    // A conditions object ({ types, default }) stands for the "." entry.
    return keys.every((key) => key.startsWith(".")) ? exports as Json : { ".": exports };
  }
  return {};
}

const rootPackageJson = readJson(join(ROOT, "package.json"));
const rootDenoJson = readJson(join(ROOT, "deno.json"));
const workspaces = (rootPackageJson.workspaces ?? []) as string[];
const packageDirs = readdirSync(join(ROOT, "packages"))
  .filter((name) => statSync(join(ROOT, "packages", name)).isDirectory())
  .map((name) => `packages/${name}`)
  .sort();
const packages = packageDirs.map(loadPackage);

function check(violations: string[]): void {
  if (violations.length) assert.fail(`\n  ${violations.join("\n  ")}\n`);
}

Deno.test("workspace", async (t) => {
  await t.step("every package is a member of both workspaces", () => {
    const violations: string[] = [];
    const denoMembers = ((rootDenoJson.workspace ?? []) as string[]).map((m) =>
      m.replace(/^\.\//, "")
    );
    for (const path of packageDirs) {
      if (!workspaces.includes(path)) {
        violations.push(`${path}: missing from package.json workspaces`);
      }
      if (!denoMembers.includes(path)) violations.push(`${path}: missing from deno.json workspace`);
    }
    check(violations);
  });

  await t.step(
    "deno.json and package.json agree on name, version, license and entry points",
    () => {
      const violations: string[] = [];
      for (const { path, packageJson, denoJson } of packages) {
        for (const field of ["name", "version", "license"]) {
          if (denoJson[field] !== undefined && denoJson[field] !== packageJson[field]) {
            violations.push(
              `${path}: ${field} is ${JSON.stringify(denoJson[field])} in deno.json but ` +
                `${JSON.stringify(packageJson[field])} in package.json`,
            );
          }
        }
        for (const field of ["name", "version", "exports"]) {
          if (denoJson[field] === undefined) violations.push(`${path}/deno.json: no "${field}"`);
        }
        const jsr = exportMap(denoJson.exports);
        const npm = exportMap(packageJson.exports);
        for (const [key, file] of Object.entries(jsr)) {
          if (!(key in npm)) {
            violations.push(`${path}: deno.json exports "${key}" but package.json does not`);
            continue;
          }
          // ./mod.ts ships to npm as ./dist/mod.js with ./dist/mod.d.ts.
          const stem = String(file).replace(/^\.\//, "./dist/").replace(/\.ts$/, "");
          const target = npm[key] as Json;
          if (typeof target !== "object" || target === null) continue; // reported by the next step
          if (target.types !== `${stem}.d.ts`) {
            violations.push(`${path}: package.json exports["${key}"].types should be ${stem}.d.ts`);
          }
          if ((target.default ?? target.import) !== `${stem}.js`) {
            violations.push(`${path}: package.json exports["${key}"].default should be ${stem}.js`);
          }
        }
        for (const key of Object.keys(npm)) {
          if (!(key in jsr)) {
            violations.push(
              `${path}: package.json exports "${key}" but deno.json does not`,
            );
          }
        }
      }
      check(violations);
    },
  );

  await t.step("package.json has what npm needs", () => {
    const violations: string[] = [];
    for (const { path, packageJson } of packages) {
      const where = `${path}/package.json`;
      const entries = Object.entries(exportMap(packageJson.exports));
      if (entries.length === 0) violations.push(`${where}: no "exports"`);
      for (const [key, target] of entries) {
        if (typeof target !== "object" || target === null || !("types" in target)) {
          violations.push(`${where}: exports["${key}"] has no "types" condition`);
        } else if (Object.keys(target)[0] !== "types") {
          violations.push(`${where}: exports["${key}"] must list "types" first`);
        }
      }
      const files = packageJson.files;
      if (!Array.isArray(files) || files.length === 0) violations.push(`${where}: no "files"`);
      if (packageJson.type !== "module") violations.push(`${where}: "type" is not "module"`);
      const node = (packageJson.engines as Json | undefined)?.node;
      const min = typeof node === "string" ? /^>=\s*(\d+)\.(\d+)/.exec(node) : null;
      if (!min || Number(min[1]) * 1000 + Number(min[2]) < 20 * 1000 + 19) {
        violations.push(`${where}: engines.node must be ">=20.19" or higher (require(esm))`);
      }
      if (typeof packageJson.license !== "string" || packageJson.license === "") {
        violations.push(`${where}: no "license"`);
      }
      if (typeof packageJson.description !== "string" || packageJson.description === "") {
        violations.push(`${where}: no "description"`);
      }
    }
    check(violations);
  });

  await t.step("packages import only packages below them (sasl ← smtp ← adapters)", () => {
    const violations: string[] = [];
    for (const { path, packageJson, sources } of packages) {
      const name = String(packageJson.name);
      const layer = LAYERS.indexOf(name);
      if (layer < 0) {
        violations.push(`${path}: ${name} has no place in LAYERS of tests/workspace_test.ts`);
        continue;
      }
      for (const source of sources) {
        for (const specifier of source.specifiers) {
          const target = bareName(specifier);
          if (target === undefined || target === name) continue;
          if (LAYERS.indexOf(target) >= layer) {
            violations.push(`${source.path}: ${name} must not import ${specifier}`);
          }
        }
      }
    }
    check(violations);
  });

  await t.step("library sources use no npm: or jsr: specifiers", () => {
    const violations: string[] = [];
    for (const { sources } of packages) {
      for (const source of sources.filter((s) => s.library)) {
        for (const specifier of source.specifiers) {
          if (/^(npm|jsr):/.test(specifier)) {
            violations.push(`${source.path}: imports ${specifier}`);
          }
        }
      }
    }
    check(violations);
  });

  await t.step("bare specifiers are declared in package.json", () => {
    const violations: string[] = [];
    const rootDev = deps(rootPackageJson, "devDependencies");
    for (const { path, packageJson, sources } of packages) {
      const runtime = deps(packageJson, "dependencies", "peerDependencies", "optionalDependencies");
      const development = { ...runtime, ...rootDev, ...deps(packageJson, "devDependencies") };
      for (const source of sources) {
        for (const specifier of source.specifiers) {
          const name = bareName(specifier);
          if (name === undefined || name === packageJson.name) continue;
          if (source.library && !(name in runtime)) {
            const where = name in development
              ? "dependencies (only in devDependencies)"
              : "dependencies";
            violations.push(`${source.path}: ${name} is not in ${path}/package.json ${where}`);
          } else if (!source.library && !(name in development)) {
            violations.push(`${source.path}: ${name} is not declared in ${path}/package.json`);
          }
        }
      }
    }
    check(violations);
  });

  await t.step("root package.json lists the workspaces in dependency order", () => {
    const violations: string[] = [];
    const names = workspaces.map((ws) => String(readJson(join(ROOT, ws, "package.json")).name));
    workspaces.forEach((ws, index) => {
      const manifest = readJson(join(ROOT, ws, "package.json"));
      const all = deps(manifest, "dependencies", "devDependencies", "peerDependencies");
      for (const dependency of Object.keys(all)) {
        const at = names.indexOf(dependency);
        if (at > index) violations.push(`${ws} depends on ${dependency}, listed after it`);
      }
    });
    check(violations);
  });
});
