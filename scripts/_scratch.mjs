// A scratch consumer project outside the repo, with the packed tarballs installed as a user
// would install them; shared by npm_smoke.mjs (Node) and runtime_smoke.mjs (Bun).

import { copyFileSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ENV, readJson, ROOT, run } from "./_workspace.mjs";

/** The per-package fixtures: `NAME.mjs` (run) and `NAME.ts` (type-checked); see README.md there. */
export const FIXTURES = join(ROOT, "scripts", "npm_smoke");

// Variables `npm run` sets for the repo's own project would point the scratch install back at
// it. Bun is asked not to phone home.
export const SCRATCH_ENV = {
  ...Object.fromEntries(
    Object.entries(ENV).filter(([key]) =>
      !/^npm_(package_|lifecycle_|config_(local_prefix|workspaces?|include_workspace_root)$)/i
        .test(key) && key !== "INIT_CWD"
    ),
  ),
  DO_NOT_TRACK: "1",
};

/** `@saslkit/sasl` → `sasl`, the fixture's file name. */
export function shortName(name) {
  return name.replace(/^@[^/]+\//, "");
}

/**
 * What a fixture is given: the package itself when it exports ".", otherwise its first subpath
 * export (`@saslkit/adapters` has only `./nodemailer`).
 */
export function entrySpecifier(scratch, name) {
  const { exports } = readJson(join(scratch, "node_modules", name, "package.json"));
  const keys = exports && typeof exports === "object" ? Object.keys(exports) : ["."];
  const key = keys.includes(".") || !keys[0]?.startsWith("./") ? "." : keys[0];
  return key === "." ? name : `${name}/${key.slice(2)}`;
}

/**
 * The peer dependencies of the tarballs that are not tarballs themselves (nodemailer for
 * @saslkit/adapters), as a user installs them beside the package: at the version the package
 * is developed against (its devDependencies), else at the peer range.
 */
export function peerInstalls(tarballs) {
  const ours = new Set(tarballs.map(({ name }) => name));
  const specs = new Map();
  for (const { packageJson } of tarballs) {
    for (const [peer, range] of Object.entries(packageJson.peerDependencies ?? {})) {
      if (!ours.has(peer)) {
        specs.set(peer, `${peer}@${packageJson.devDependencies?.[peer] ?? range}`);
      }
    }
  }
  return [...specs.values()];
}

/**
 * Makes `scratch` an ESM project, installs every tarball in one `npm install` (so a dependent
 * package resolves its sibling from them) together with their peers from the registry (see
 * {@link peerInstalls}), checks that each came from its tarball, and copies each package's
 * fixtures with the given extensions into `scratch/smoke/`.
 */
export function installTarballs(scratch, projectName, tarballs, fixtureExtensions) {
  mkdirSync(join(scratch, "smoke"), { recursive: true });
  writeFileSync(
    join(scratch, "package.json"),
    JSON.stringify({ name: projectName, private: true, type: "module" }, null, 2),
  );
  const peers = peerInstalls(tarballs);
  run("npm", [
    "install",
    "--no-audit",
    "--no-fund",
    ...tarballs.map(({ tarball }) => tarball),
    ...peers,
  ], { cwd: scratch, env: SCRATCH_ENV });
  const lock = readJson(join(scratch, "package-lock.json"));
  for (const { name, version } of tarballs) {
    const installed = readJson(join(scratch, "node_modules", name, "package.json"));
    if (installed.version !== version) {
      throw new Error(`${name}: installed ${installed.version}, packed ${version}`);
    }
    // A dependent package must get its sibling from the tarball, never a copy from the registry.
    for (const [path, entry] of Object.entries(lock.packages)) {
      if (!path.endsWith(`node_modules/${name}`)) continue;
      if (path !== `node_modules/${name}` || !String(entry.resolved).startsWith("file:")) {
        throw new Error(`${name} was installed at ${path} from ${entry.resolved}, not the tarball`);
      }
    }
    for (const ext of fixtureExtensions) {
      copyFileSync(
        join(FIXTURES, shortName(name) + ext),
        join(scratch, "smoke", shortName(name) + ext),
      );
    }
  }
  console.log(`installed: ${tarballs.map(({ name, version }) => `${name}@${version}`).join(", ")}`);
  if (peers.length) console.log(`with their peers from the registry: ${peers.join(", ")}`);
}

/**
 * Writes `esm_NAME.mjs`, which imports the package and runs its fixture, and returns its name.
 * `preamble` is code run first; `label` a JavaScript expression appended to the ok line.
 */
export function writeEsmEntry(scratch, name, { preamble = "", label = '""' } = {}) {
  const file = `esm_${shortName(name)}.mjs`;
  const specifier = entrySpecifier(scratch, name);
  writeFileSync(
    join(scratch, file),
    `import * as pkg from ${JSON.stringify(specifier)};\n` +
      `import smoke from "./smoke/${shortName(name)}.mjs";\n` +
      preamble +
      `await smoke(pkg);\n` +
      `console.log(${JSON.stringify(`ok: import ${specifier}`)} + ${label});\n`,
  );
  return file;
}

/**
 * Writes `cjs_NAME.cjs`, which `require()`s the package (the fixture itself is loaded with
 * `import()`), checks it exports what `import` does, runs the fixture, and returns its name.
 */
export function writeCjsEntry(scratch, name, { label = '""' } = {}) {
  const file = `cjs_${shortName(name)}.cjs`;
  const specifier = JSON.stringify(entrySpecifier(scratch, name));
  writeFileSync(
    join(scratch, file),
    `"use strict";\n` +
      `const assert = require("node:assert/strict");\n` +
      `const pkg = require(${specifier});\n` +
      `(async () => {\n` +
      `  const esm = await import(${specifier});\n` +
      `  assert.deepEqual(Object.keys(pkg).sort(), Object.keys(esm).sort());\n` +
      `  const { default: smoke } = await import("./smoke/${shortName(name)}.mjs");\n` +
      `  await smoke(pkg);\n` +
      `  console.log(${JSON.stringify(`ok: require ${JSON.parse(specifier)}`)} + ${label});\n` +
      `})().catch((error) => {\n` +
      `  console.error(error);\n` +
      `  process.exitCode = 1;\n` +
      `});\n`,
  );
  return file;
}
