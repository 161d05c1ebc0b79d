// Builds one workspace package's npm dist/. Each package's "build" script runs it from the
// package directory: `node ../../scripts/build_npm.mjs`. Two builds of the same sources, and
// every package.json export names both:
//   { "types": "./dist/X.d.ts", "module": "./dist/X.js", "node": "./dist/node/X.js",
//     "default": "./dist/X.js" }
//
//   dist/*.js, *.d.ts   tsc -p tsconfig.build.json, one ES module per source file. Bundlers
//                       (esbuild, webpack, Rollup, Vite match "module", whatever the platform)
//                       get these: an app importing only PlainClient bundles only PLAIN's
//                       modules, as "sideEffects": false lets them drop every other file whole.
//                       Inside one merged file they could not (measured: PLAIN 22 KB, not 1 KB,
//                       gzipped). Also "default", and the declarations every "types" points at.
//   dist/node/          esbuild, one bundled ES module per export, for runtimes that load the
//                       package from disk (Node, Bun and Deno match "node", not "module"): each
//                       ES module file costs the loader a resolve, a read, a compile and a link,
//                       which made the cold import of tsc's ~40 files 8-13x that of node:crypto.
//
// One copy of every module in dist/node/: a class such as SaslError must be the same class
// whichever subpath the caller imported it from, so nothing is bundled twice.
//   - An export all of whose runtime names the "." entry also exports, as the same bindings
//     (@saslkit/sasl/plain, /login, /digest-md5, ...), is a facade over the main entry:
//     `export { PlainClient, ... } from "./mod.js"` (checked by running the sources; an export
//     that fails the check is built as the next kind).
//   - The "." entry and every other export are esbuild entries of one build with code
//     splitting: what several of them share sits once in dist/node/_chunks/.
// A runtime or a bundler resolves every import of a package under the same conditions, so no
// program mixes the two builds. Dependencies, peer dependencies and node: builtins stay bare
// imports, never inlined. No sourcemaps (the output is unminified and keeps the sources' JSDoc;
// maps would add about as much again to the tarball); /* @__PURE__ */ annotations are kept.

import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, posix, relative } from "node:path";
import { build } from "esbuild";

const dir = process.cwd();
const pkg = JSON.parse(readFileSync(join(dir, "package.json"), "utf8"));
const DIST = join(dir, "dist");
const NODE_DIST = join(DIST, "node");

function die(message) {
  console.error(`build ${pkg.name}: ${message}`);
  process.exit(1);
}

/** `"./digest-md5"` with `./dist/digest_md5/mod.js` → `{ key, out: "digest_md5/mod", source }`. */
function entryOf(key, conditions) {
  const match = /^\.\/dist\/(.+)\.js$/.exec(conditions?.default ?? "");
  if (!match) die(`exports["${key}"].default must be ./dist/<path>.js`);
  const [, out] = match;
  const source = `${out}.ts`;
  if (!existsSync(join(dir, source))) die(`exports["${key}"] has no source ${source}`);
  const expected = {
    types: `./dist/${out}.d.ts`,
    module: `./dist/${out}.js`,
    node: `./dist/node/${out}.js`,
    default: `./dist/${out}.js`,
  };
  if (JSON.stringify(conditions) !== JSON.stringify(expected)) {
    die(`exports["${key}"] must be ${JSON.stringify(expected)} (in that order)`);
  }
  return { key, out, source };
}

const entries = Object.entries(pkg.exports ?? {}).map(([key, value]) => entryOf(key, value));
const bins = typeof pkg.bin === "string" ? { [pkg.name]: pkg.bin } : pkg.bin ?? {};
for (const [name, target] of Object.entries(bins)) {
  if (!entries.some(({ out }) => `./dist/node/${out}.js` === target)) {
    die(`bin ${name} (${target}) is not the dist/node/ file of one of the exports`);
  }
}

if (existsSync(join(dir, "node"))) die("a source folder named node/ would collide with dist/node/");

// 1. tsc: dist/*.js and *.d.ts (and the type check).
rmSync(DIST, { recursive: true, force: true });
const tsc = createRequire(import.meta.url).resolve("typescript/bin/tsc");
const types = spawnSync(
  process.execPath,
  [tsc, "-p", "tsconfig.build.json"],
  { cwd: dir, stdio: "inherit" },
);
if (types.status !== 0) die(`tsc exited with ${types.status ?? types.signal}`);

// 2. esbuild: dist/node/.
const dependencies = [
  ...Object.keys(pkg.dependencies ?? {}),
  ...Object.keys(pkg.peerDependencies ?? {}),
];
const common = {
  absWorkingDir: dir,
  bundle: true,
  format: "esm",
  // Neutral: the same file for Node, Deno, Bun and browser bundlers; node: imports stay imports.
  platform: "neutral",
  target: "es2022",
  external: [...dependencies.flatMap((name) => [name, `${name}/*`]), "node:*"],
  charset: "utf8",
  legalComments: "inline",
  sourcemap: false,
  logLevel: "warning",
};

/** The runtime export names of each source, bundled alone (nothing written). */
async function exportNames(sources) {
  const result = await build({
    ...common,
    entryPoints: Object.fromEntries(sources.map((source, i) => [`e${i}`, source])),
    outdir: "names",
    write: false,
    metafile: true,
  });
  return sources.map((_, i) => result.metafile.outputs[`names/e${i}.js`].exports);
}

/**
 * The keys of the facades whose names are not all the very bindings the main entry exports under
 * those names (an explicit re-export in mod.ts could shadow a same-named export of the subpath).
 * Runs the sources, bundled with their dependencies, in this Node.
 */
async function falseFacades(hub, facades) {
  const lines = [`import * as hub from ${JSON.stringify(`./${hub.source}`)};`, "const bad = [];"];
  facades.forEach((facade, i) => {
    lines.push(
      `import * as f${i} from ${JSON.stringify(`./${facade.source}`)};`,
      `if (Object.keys(f${i}).some((n) => f${i}[n] !== hub[n])) bad.push(${
        JSON.stringify(facade.key)
      });`,
    );
  });
  lines.push("console.log(JSON.stringify(bad));");
  const result = await build({
    ...common,
    external: ["node:*"],
    platform: "node",
    stdin: { contents: lines.join("\n"), resolveDir: dir, loader: "js" },
    write: false,
  });
  const run = spawnSync(process.execPath, ["--input-type=module"], {
    input: result.outputFiles[0].text,
    cwd: dir,
    encoding: "utf8",
  });
  if (run.status !== 0) die(`the facade check could not run:\n${run.stderr}`);
  return JSON.parse(run.stdout);
}

const hub = entries.find(({ key }) => key === ".");
const others = entries.filter((entry) => entry !== hub);
const facades = [];
const roots = hub ? [hub] : [];
if (hub) {
  const [hubNames, ...names] = await exportNames([hub, ...others].map(({ source }) => source));
  const exported = new Set(hubNames);
  const candidates = others.map((entry, i) => ({ ...entry, names: names[i] })).filter((entry) =>
    entry.names.length > 0 && entry.names.every((name) => exported.has(name))
  );
  const bad = candidates.length ? await falseFacades(hub, candidates) : [];
  for (const entry of others) {
    const facade = candidates.find(({ key }) => key === entry.key);
    // Not a facade: its own entry of the split build, which shares modules and copies none.
    if (facade && !bad.includes(entry.key)) facades.push(facade);
    else roots.push(entry);
  }
} else roots.push(...others);

const result = await build({
  ...common,
  entryPoints: Object.fromEntries(roots.map(({ out, source }) => [out, source])),
  outdir: NODE_DIST,
  splitting: true,
  chunkNames: "_chunks/[name]-[hash]",
  metafile: true,
});

for (const facade of facades) {
  const file = join(NODE_DIST, `${facade.out}.js`);
  const from = `${posix.relative(posix.dirname(facade.out), hub.out)}.js`.replace(/^(?!\.)/, "./");
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(
    file,
    `// ${pkg.name}/${facade.key.slice(2)}: the main entry's bindings (one copy of each class).\n` +
      `export {\n${facade.names.map((name) => `  ${name},\n`).join("")}} from ${
        JSON.stringify(from)
      };\n`,
  );
}

const chunks = Object.keys(result.metafile.outputs).filter((file) => file.includes("/_chunks/"));
console.log(
  `${pkg.name}: ${roots.length} bundled entries, ${facades.length} facades over the main entry, ` +
    `${chunks.length} shared chunks in ${relative(dir, NODE_DIST)}/ (per-module build in dist/)`,
);
