// Proves the npm tarballs work for a consumer, the way a user would get them: packs every
// workspace package, installs the tarballs into a scratch project outside the repo (so nothing
// resolves back to the workspace's sources or node_modules), then
//   (a) imports each package from plain Node ESM and runs its fixture,
//   (b) require()s it from CommonJS and runs the same fixture,
//   (c) type-checks a TypeScript consumer against the shipped .d.ts files with the repo's tsc.
// Fixtures: scripts/npm_smoke/NAME.mjs and NAME.ts (see the README there).
// SASLKIT_SMOKE_KEEP=1 keeps the scratch directory for debugging.

import { spawnSync } from "node:child_process";
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BIN, fail, header, readJson, ROOT, run } from "./_workspace.mjs";
import { packAll } from "./pack.mjs";
import {
  FIXTURES,
  installTarballs,
  SCRATCH_ENV,
  shortName,
  writeCjsEntry,
  writeEsmEntry,
} from "./_scratch.mjs";

// Variables `npm run` sets for the repo's own project would point the scratch install back at it.
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

const NODE_TYPES = /^\/\/\/ <reference types="node" \/>/m;

function typeCheck(cwd, consumers, label) {
  const tsc = join(BIN, "tsc");
  const flags = ["--noEmit", "--strict", "--module", "nodenext", "--moduleResolution", "nodenext"];
  run(tsc, [...flags, "--target", "es2022", ...consumers], { cwd, env: SCRATCH_ENV });
  console.log(`ok: tsc, default libs (with DOM)${label}: ${consumers.join(", ")}`);
  // A Node project without DOM types must be able to use the packages too.
  run(tsc, [...flags, "--target", "es2022", "--lib", "es2022", ...consumers], {
    cwd,
    env: SCRATCH_ENV,
  });
  console.log(`ok: tsc, --lib es2022 (no DOM)${label}`);
}

/**
 * Writes `subpaths_NAME.mjs`, which loads the package's main entry and each of its subpath
 * exports by import() and by require(), and fails unless every name a subpath shares with the main
 * entry is the very same value (one SaslError class, one registry: the dist bundles each module
 * once). Returns its name, or undefined for a package without a main entry and subpaths.
 */
function writeSubpathCheck(scratch, name) {
  const { exports } = readJson(join(scratch, "node_modules", name, "package.json"));
  const subpaths = Object.keys(exports ?? {}).filter((key) => key.startsWith("./"));
  if (!Object.hasOwn(exports ?? {}, ".") || subpaths.length === 0) return undefined;
  const file = `subpaths_${shortName(name)}.mjs`;
  writeFileSync(
    join(scratch, file),
    [
      'import { createRequire } from "node:module";',
      "const require = createRequire(import.meta.url);",
      `const name = ${JSON.stringify(name)};`,
      `const subpaths = ${JSON.stringify(subpaths.map((key) => `${name}/${key.slice(2)}`))};`,
      "const mains = [await import(name), require(name)];",
      "let shared = 0;",
      "const importOnly = [];",
      "for (const specifier of subpaths) {",
      "  const subs = [await import(specifier)];",
      "  // A module with top-level await (the saslkit-smtp command) cannot be require()d at all.",
      "  try {",
      "    subs.push(require(specifier));",
      "  } catch (error) {",
      '    if (error.code !== "ERR_REQUIRE_ASYNC_MODULE") throw error;',
      "    importOnly.push(specifier);",
      "  }",
      "  for (const sub of subs) {",
      "    for (const key of Object.keys(sub)) {",
      "      if (!(key in mains[0])) continue;",
      "      shared++;",
      "      for (const main of mains) {",
      "        if (sub[key] !== main[key]) {",
      "          throw new Error(`${specifier} exports a ${key} other than ${name}'s`);",
      "        }",
      "      }",
      "    }",
      "  }",
      "}",
      "if (mains[0].SaslError && mains[0].SaslError !== mains[1].SaslError) {",
      '  throw new Error("import() and require() give two SaslError classes");',
      "}",
      'const only = importOnly.length ? ` (import() only: ${importOnly.join(", ")})` : "";',
      "console.log(`ok: ${subpaths.length} subpaths of ${name}, ${shared} shared names identical${only}`);",
    ].join("\n") + "\n",
  );
  return file;
}

function node(scratch, file) {
  run(process.execPath, [file], { cwd: scratch, env: SCRATCH_ENV });
}

async function main(tmp) {
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
  installTarballs(scratch, "saslkit-npm-smoke", tarballs, [".mjs", ".ts"]);

  header("npm smoke: (a) import from Node ESM");
  for (const { name } of tarballs) node(scratch, writeEsmEntry(scratch, name));

  header("npm smoke: (b) require() from CommonJS");
  for (const { name } of tarballs) node(scratch, writeCjsEntry(scratch, name));

  header(
    "npm smoke: (b2) every subpath export shares the main entry's bindings, ESM and require()",
  );
  for (const { name } of tarballs) {
    const file = writeSubpathCheck(scratch, name);
    if (file) node(scratch, file);
  }

  header("npm smoke: (c) type-check a TypeScript consumer against the shipped .d.ts");
  const all = tarballs.map(({ name }) => `smoke/${shortName(name)}.ts`);
  // A consumer of a Node-only client (nodemailer) has Node's types, as its users do; it is
  // checked in a project of its own, so that the others are still checked without them.
  const needsNode = (file) => NODE_TYPES.test(readFileSync(join(scratch, file), "utf8"));
  const consumers = all.filter((file) => !needsNode(file));
  typeCheck(scratch, consumers, "");
  const nodeConsumers = all.filter(needsNode);
  if (nodeConsumers.length) {
    const dir = join(scratch, "with-node-types");
    mkdirSync(join(dir, "smoke"), { recursive: true });
    writeFileSync(join(dir, "package.json"), JSON.stringify({ private: true, type: "module" }));
    const nodeTypes = `@types/node@${
      readJson(join(ROOT, "package.json")).devDependencies["@types/node"]
    }`;
    run("npm", ["install", "--no-audit", "--no-fund", nodeTypes], { cwd: dir, env: SCRATCH_ENV });
    for (const file of nodeConsumers) copyFileSync(join(scratch, file), join(dir, file));
    typeCheck(dir, nodeConsumers, ` with ${nodeTypes}`);
  }

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

  header("npm smoke: (e) the @saslkit/smtp README quick start, with the installed command");
  quickStart(scratch);

  header("npm smoke: (f) Node loads dist/node/ bundles; a bundler gets the per-module files");
  await twoBuilds(scratch);
}

// Node (and Bun, Deno) match the "node" condition and load the bundled dist/node/ files, few per
// entry; bundlers match "module" first and get tsc's one module per source file, so an app that
// imports only PLAIN bundles only PLAIN's modules. Both are checked from the installed tarballs.
async function twoBuilds(scratch) {
  const resolved = spawnSync(process.execPath, [
    "--input-type=module",
    "-e",
    'import { createRequire } from "node:module";\n' +
    'console.log(import.meta.resolve("@saslkit/sasl"));\n' +
    'console.log(createRequire(import.meta.url).resolve("@saslkit/sasl/scram"));',
  ], { cwd: scratch, env: SCRATCH_ENV, encoding: "utf8" });
  const [esm, cjs] = resolved.stdout.trim().split("\n");
  if (
    !esm?.endsWith("/@saslkit/sasl/dist/node/mod.js") || !cjs?.endsWith("/dist/node/scram/mod.js")
  ) {
    throw new Error(`Node resolved @saslkit/sasl to ${esm} and /scram to ${cjs}: not dist/node/`);
  }
  console.log("ok: Node resolves @saslkit/sasl (import and require) to dist/node/");

  const { build } = await import("esbuild");
  for (const platform of ["browser", "node"]) {
    const result = await build({
      stdin: {
        contents: 'import { PlainClient } from "@saslkit/sasl";\n' +
          'const bytes = new PlainClient({ username: "tim", password: "secret" }).start();\n' +
          "console.log(Array.from(bytes).join());\n",
        resolveDir: scratch,
        loader: "js",
      },
      bundle: true,
      format: "esm",
      platform,
      write: false,
      metafile: true,
      logLevel: "warning",
    });
    // Every module esbuild read, and those it kept some code of.
    const inputs = Object.keys(result.metafile.inputs).filter((file) => file.includes("@saslkit/"));
    const kept = Object.entries(Object.values(result.metafile.outputs)[0].inputs)
      .filter(([file, { bytesInOutput }]) => file.includes("@saslkit/") && bytesInOutput > 0)
      .map(([file]) => file);
    const wrong = inputs.filter((file) =>
      !/node_modules\/@saslkit\/sasl\/dist\/.+\.js$/.test(file) || /\/dist\/node\//.test(file)
    );
    if (inputs.length === 0 || wrong.length) {
      throw new Error(`an esbuild ${platform} bundle of PlainClient took ${wrong.join(", ")}`);
    }
    if (kept.some((file) => /digest_md5|_cipher|scram|cram_md5|_hash/.test(file))) {
      throw new Error(`a PlainClient bundle (${platform}) kept other mechanisms: ${kept}`);
    }
    const run = spawnSync(process.execPath, ["--input-type=module"], {
      input: result.outputFiles[0].text,
      encoding: "utf8",
    });
    if (run.stdout.trim() !== "0,116,105,109,0,115,101,99,114,101,116") {
      throw new Error(`the ${platform} bundle of PlainClient printed ${run.stdout}${run.stderr}`);
    }
    console.log(
      `ok: esbuild --platform=${platform}: PlainClient from ${kept.length} of the per-module files ` +
        `(${result.outputFiles[0].contents.length} B), and it runs`,
    );
  }
}

// The package README's quick start as a user copies it into a project that installed the
// tarball: `npx saslkit-smtp serve`, then the send block, then the message in the folder. Only
// the port differs (serve picks a free one and the send block is pointed at it).
function quickStart(scratch) {
  const readme = readFileSync(join(ROOT, "packages", "smtp", "README.md"), "utf8");
  const section = readme.slice(readme.indexOf("\n## Quick start\n"));
  const [serve, send] = [
    ...section.slice(0, section.indexOf("\n## ", 1)).matchAll(
      /```sh\n([\s\S]*?)```/g,
    ),
  ].map((m) => m[1].trim());
  if (!serve?.startsWith("npx saslkit-smtp serve --port 2525") || !send?.includes("2525")) {
    throw new Error("the smtp README's quick start has no serve block and send block");
  }
  const script = [
    // Job control: the server runs in a process group of its own, so npx and the node it
    // starts are stopped together.
    "set -e -m",
    `${serve.replace("--port 2525", "--port 0")} > serve.log 2>&1 &`,
    "server=$!",
    "trap 'kill -- -$server 2>/dev/null || true' EXIT",
    "for i in $(seq 300); do grep -q 'listening on' serve.log && break; sleep 0.1; done",
    "PORT=$(sed -n 's/.*listening on 127\\.0\\.0\\.1:\\([0-9]*\\).*/\\1/p' serve.log)",
    send.replaceAll("2525", "$PORT"),
  ].join("\n");
  const result = spawnSync("bash", ["-c", script], {
    cwd: scratch,
    env: SCRATCH_ENV,
    encoding: "utf8",
    timeout: 60_000,
  });
  const output = `${result.stdout}${result.stderr}`;
  if (result.status !== 0 || !/^5AQK00000001\.eml$/m.test(result.stdout)) {
    throw new Error(`the README quick start failed (${result.status}):\n${output}`);
  }
  const eml = readFileSync(join(scratch, "received", "5AQK00000001.eml"), "utf8");
  if (!eml.includes("\r\n\r\nIt works.\r\n")) throw new Error("the received message differs");
  console.log("ok: npx saslkit-smtp serve + send from the README: received/5AQK00000001.eml");
}

const tmp = mkdtempSync(join(tmpdir(), "saslkit-npm-smoke-"));
let failure;
try {
  await main(tmp);
} catch (error) {
  failure = error;
} finally {
  if (process.env.SASLKIT_SMOKE_KEEP) console.log(`\nkept ${tmp}`);
  else rmSync(tmp, { recursive: true, force: true });
}
if (failure) fail(`npm smoke: ${failure.message}`);
console.log("\nnpm smoke: all packages install, import, require and type-check");
