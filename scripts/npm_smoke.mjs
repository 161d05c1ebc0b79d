// Proves the npm tarballs work for a consumer, the way a user would get them: packs every
// workspace package, installs the tarballs into a scratch project outside the repo (so nothing
// resolves back to the workspace's sources or node_modules), then
//   (a) imports each package from plain Node ESM and runs its fixture,
//   (b) require()s it from CommonJS and runs the same fixture,
//   (c) type-checks a TypeScript consumer against the shipped .d.ts files with the repo's tsc.
// Fixtures: scripts/npm_smoke/NAME.mjs and NAME.ts (see the README there).
// SASLKIT_SMOKE_KEEP=1 keeps the scratch directory for debugging.

import { spawnSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BIN, ENV, fail, header, readJson, ROOT, run } from "./_workspace.mjs";
import { packAll } from "./pack.mjs";

const FIXTURES = join(ROOT, "scripts", "npm_smoke");

// Variables `npm run` sets for the repo's own project would point the scratch install back at it.
const SCRATCH_ENV = Object.fromEntries(
  Object.entries(ENV).filter(([key]) =>
    !/^npm_(package_|lifecycle_|config_(local_prefix|workspaces?|include_workspace_root)$)/i
      .test(key) && key !== "INIT_CWD"
  ),
);

/** `@saslkit/sasl` → `sasl`, the fixture's file name. */
function shortName(name) {
  return name.replace(/^@[^/]+\//, "");
}

/** Every file the package.json "exports" map points at, e.g. `dist/mod.d.ts`. */
function exportTargets(exports) {
  if (typeof exports === "string") return [exports];
  if (exports && typeof exports === "object") return Object.values(exports).flatMap(exportTargets);
  return [];
}

function checkTarball({ name, files, packageJson }) {
  const problems = [];
  for (const required of ["package.json", "LICENSE"]) {
    if (!files.includes(required)) problems.push(`${required} is missing`);
  }
  for (const target of exportTargets(packageJson.exports)) {
    const path = target.replace(/^\.\//, "");
    if (!files.includes(path)) {
      problems.push(`exports points at ${path}, which is not in the tarball`);
    }
  }
  for (const file of files) {
    if (/[._]test\.[cm]?[jt]s$|(^|\/)(interop|testdata|bench|node_modules)\//.test(file)) {
      problems.push(`${file} should not be published`);
    } else if (/\.[cm]?ts$/.test(file) && !/\.d\.[cm]?ts$/.test(file)) {
      problems.push(`${file}: TypeScript source instead of .js + .d.ts`);
    }
  }
  if (problems.length) throw new Error(`${name} tarball:\n  ${problems.join("\n  ")}`);
  console.log(`${name}: ${files.length} files, exports present, no tests or sources`);
}

function checkInstall(scratch, packages) {
  const lock = readJson(join(scratch, "package-lock.json"));
  for (const { name, version } of packages) {
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
  }
  console.log(`installed: ${packages.map(({ name, version }) => `${name}@${version}`).join(", ")}`);
}

function node(scratch, file) {
  run(process.execPath, [file], { cwd: scratch, env: SCRATCH_ENV });
}

function main(tmp) {
  const tarballs = packAll(join(tmp, "tarballs"));

  header("npm smoke: tarball contents");
  for (const pack of tarballs) checkTarball(pack);
  const missing = tarballs.flatMap(({ name }) =>
    [".mjs", ".ts"].map((ext) => `${shortName(name)}${ext}`).filter((file) =>
      !existsSync(join(FIXTURES, file))
    )
  );
  if (missing.length) {
    throw new Error(
      `missing fixtures in scripts/npm_smoke/: ${missing.join(", ")} (see README.md)`,
    );
  }

  header("npm smoke: install the tarballs into a scratch project");
  const scratch = join(tmp, "consumer");
  mkdirSync(join(scratch, "smoke"), { recursive: true });
  writeFileSync(
    join(scratch, "package.json"),
    JSON.stringify({ name: "saslkit-npm-smoke", private: true, type: "module" }, null, 2),
  );
  // One command for all tarballs, so a dependent package resolves its sibling from them.
  run(
    "npm",
    ["install", "--no-audit", "--no-fund", ...tarballs.map(({ tarball }) => tarball)],
    { cwd: scratch, env: SCRATCH_ENV },
  );
  checkInstall(scratch, tarballs);
  for (const { name } of tarballs) {
    for (const ext of [".mjs", ".ts"]) {
      copyFileSync(
        join(FIXTURES, shortName(name) + ext),
        join(scratch, "smoke", shortName(name) + ext),
      );
    }
  }

  header("npm smoke: (a) import from Node ESM");
  for (const { name } of tarballs) {
    const file = `esm_${shortName(name)}.mjs`;
    writeFileSync(
      join(scratch, file),
      `import * as pkg from ${JSON.stringify(name)};\n` +
        `import smoke from "./smoke/${shortName(name)}.mjs";\n` +
        `await smoke(pkg);\n` +
        `console.log(${JSON.stringify(`ok: import ${name}`)});\n`,
    );
    node(scratch, file);
  }

  header("npm smoke: (b) require() from CommonJS");
  for (const { name } of tarballs) {
    const file = `cjs_${shortName(name)}.cjs`;
    // The fixture is loaded with import(): only the package itself goes through require().
    writeFileSync(
      join(scratch, file),
      `"use strict";\n` +
        `const assert = require("node:assert/strict");\n` +
        `const pkg = require(${JSON.stringify(name)});\n` +
        `(async () => {\n` +
        `  const esm = await import(${JSON.stringify(name)});\n` +
        `  assert.deepEqual(Object.keys(pkg).sort(), Object.keys(esm).sort());\n` +
        `  const { default: smoke } = await import("./smoke/${shortName(name)}.mjs");\n` +
        `  await smoke(pkg);\n` +
        `  console.log(${JSON.stringify(`ok: require ${name}`)});\n` +
        `})().catch((error) => {\n` +
        `  console.error(error);\n` +
        `  process.exitCode = 1;\n` +
        `});\n`,
    );
    node(scratch, file);
  }

  header("npm smoke: (c) type-check a TypeScript consumer against the shipped .d.ts");
  const consumers = tarballs.map(({ name }) => `smoke/${shortName(name)}.ts`);
  const tsc = join(BIN, "tsc");
  const flags = ["--noEmit", "--strict", "--module", "nodenext", "--moduleResolution", "nodenext"];
  run(tsc, [...flags, "--target", "es2022", ...consumers], { cwd: scratch, env: SCRATCH_ENV });
  console.log("ok: tsc, default libs (with DOM)");
  // A Node project without DOM types must be able to use the packages too.
  run(tsc, [...flags, "--target", "es2022", "--lib", "es2022", ...consumers], {
    cwd: scratch,
    env: SCRATCH_ENV,
  });
  console.log("ok: tsc, --lib es2022 (no DOM)");

  header("npm smoke: (d) the saslkit-smtp command from the installed bin");
  const bin = join(scratch, "node_modules", ".bin", "saslkit-smtp");
  const help = spawnSync(bin, ["--help"], { cwd: scratch, env: SCRATCH_ENV, encoding: "utf8" });
  if (help.status !== 0 || !help.stdout.includes("probe")) {
    throw new Error(`saslkit-smtp --help exited ${help.status}: ${help.stderr}`);
  }
  const usage = spawnSync(bin, ["probe", "--password", "x"], {
    cwd: scratch,
    env: SCRATCH_ENV,
    encoding: "utf8",
  });
  if (usage.status !== 2 || usage.stderr.includes(" x")) {
    throw new Error(`saslkit-smtp with a password flag exited ${usage.status}, not 2`);
  }
  console.log("ok: saslkit-smtp --help exits 0; a password flag is a usage error (2)");
}

const tmp = mkdtempSync(join(tmpdir(), "saslkit-npm-smoke-"));
let failure;
try {
  main(tmp);
} catch (error) {
  failure = error;
} finally {
  if (process.env.SASLKIT_SMOKE_KEEP) console.log(`\nkept ${tmp}`);
  else rmSync(tmp, { recursive: true, force: true });
}
if (failure) fail(`npm smoke: ${failure.message}`);
console.log("\nnpm smoke: all packages install, import, require and type-check");
