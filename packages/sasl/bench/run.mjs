// `npm run bench`: every speed and size target of saslkit against its anchor, in one run, and
// packages/sasl/bench/RESULTS.md written from what it measured. Not part of `npm test`;
// bench_test.ts runs `--quick` (short timings, one round, fewer layer sizes) so it cannot rot.
//
//   node packages/sasl/bench/run.mjs [--quick] [--rounds N] [--out FILE]
//
// Anchors, each in the same run: the JDK's DIGEST-MD5 (bench/jdk/DigestBench.java, compiled
// here into .tmp/), alt-sasl-digest-md5 with the same fixed cnonce, the native floor (the 12 MD5s
// of an exchange with node:crypto hash() on strings), the runtime's native PBKDF2, and the cold
// import of node:crypto. Rounds interleave the runtimes; each figure is the median of its rounds.
import { execFileSync, spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import os from "node:os";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
import { build } from "esbuild";

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, "../../..");
const pkg = resolve(here, "..");
const argv = process.argv.slice(2);
const quick = argv.includes("--quick");
const option = (name, fallback) => {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : fallback;
};
const rounds = Number(option("--rounds", quick ? "1" : "3"));
const out = resolve(
  option("--out", quick ? join(root, ".tmp/bench/RESULTS.quick.md") : join(here, "RESULTS.md")),
);
const [warmupMs, measureMs, jdkWarmupMs] = quick ? [20, 40, 40] : [400, 1000, 2500];
const tmp = join(root, ".tmp/bench");
mkdirSync(tmp, { recursive: true });
const bin = (name) => join(root, "node_modules/.bin", name);
const log = (text) => process.stderr.write(`${text}\n`);

// ---- the programs ---------------------------------------------------------------------------
const casesJs = join(tmp, "cases.mjs");
await build({
  entryPoints: [join(here, "cases.ts")],
  bundle: true,
  format: "esm",
  platform: "node",
  outfile: casesJs,
  logLevel: "warning",
  // alt-sasl-digest-md5 is CommonJS and requires node's crypto: give the bundle a require().
  banner: {
    js:
      'import { createRequire } from "node:module"; const require = createRequire(import.meta.url);',
  },
});

const RUNTIMES = {
  node: [process.execPath, [casesJs]],
  deno: [bin("deno"), ["run", "-A", casesJs]],
  bun: [bin("bun"), [casesJs]],
};

function javaAvailable() {
  const probe = spawnSync("javac", ["-version"], { encoding: "utf8" });
  return probe.status === 0;
}
const jdkDir = join(tmp, "jdk");
const haveJava = javaAvailable();
if (haveJava) {
  mkdirSync(jdkDir, { recursive: true });
  execFileSync("javac", [
    "-nowarn",
    "-encoding",
    "UTF-8",
    "-d",
    jdkDir,
    join(here, "jdk/DigestBench.java"),
  ]);
} else if (process.env.CI === "true") {
  throw new Error("bench: javac is not on PATH, and CI requires the JDK anchor");
}

function runLines(command, args) {
  const result = spawnSync(command, args, { encoding: "utf8", cwd: root, maxBuffer: 1 << 24 });
  if (result.status !== 0) {
    throw new Error(`bench: ${command} ${args.slice(0, 3).join(" ")} failed:\n${result.stderr}`);
  }
  return result.stdout.trim().split("\n").filter((l) => l.startsWith("{")).map((l) =>
    JSON.parse(l)
  );
}

// ---- what is measured ------------------------------------------------------------------------
const LAYERS = [
  ["auth-int", "-"],
  ["auth-conf", "rc4"],
  ["auth-conf", "rc4-56"],
  ["auth-conf", "rc4-40"],
  ["auth-conf", "des"],
  ["auth-conf", "3des"],
];
const SIZES = quick ? [4096] : [4096, 65536];
const DIRECTIONS = quick ? ["c2s"] : ["c2s", "s2c"];
const layerSpecs = [];
for (const [qop, cipher] of LAYERS) {
  for (const size of SIZES) {
    for (const d of DIRECTIONS) layerSpecs.push(`layer:${qop}:${cipher}:${size}:${d}`);
  }
}
const GROUPS = [
  // A figure and its in-process anchor are measured in alternating slices ("a+b").
  { js: ["backend", "exchange+floor", "client-step+alt-client-step"], jdk: ["exchange"] },
  { js: ["scram+native-pbkdf2"], jdk: [] },
  { js: layerSpecs, jdk: layerSpecs },
];

const key = (r) =>
  r.case === "layer" ? `layer:${r.qop}:${r.cipher || "-"}:${r.bytes}:${r.direction}` : r.case;
const samples = {}; // runtime -> key -> values[]
const info = {};
const load = [os.loadavg()];
for (let round = 0; round < rounds; round++) {
  for (const group of GROUPS) {
    const order = [...Object.keys(RUNTIMES), ...(haveJava && group.jdk.length ? ["jdk"] : [])];
    // Rotate the order each round so no runtime always runs first.
    for (let i = 0; i < order.length; i++) {
      const runtime = order[(i + round) % order.length];
      log(`bench: round ${round + 1}/${rounds} ${runtime} ${group.js.at(-1)}...`);
      const results = runtime === "jdk"
        ? runLines("java", [
          "-cp",
          jdkDir,
          "DigestBench",
          String(jdkWarmupMs),
          String(measureMs),
          ...group.jdk,
        ])
        : runLines(RUNTIMES[runtime][0], [
          ...RUNTIMES[runtime][1],
          String(warmupMs),
          String(measureMs),
          ...group.js,
        ]);
      for (const r of results) {
        if (r.case === "backend") {
          info[`${runtime} MD5 backend`] = r.md5;
          continue;
        }
        if (r.api) info[`${runtime} native PBKDF2`] = r.api;
        const value = r.mibPerSecond ?? r.perSecond;
        ((samples[runtime] ??= {})[key(r)] ??= []).push(value);
      }
    }
  }
  load.push(os.loadavg());
}
const median = (values) => {
  if (!values || values.length === 0 || values.some((v) => v === null)) return undefined;
  const s = [...values].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const fig = (runtime, k) => median(samples[runtime]?.[k]);

// ---- bundle sizes ----------------------------------------------------------------------------
async function bundleSize(name, source, { splitting = false } = {}) {
  const entry = join(tmp, `bundle_${name}.ts`);
  const to = (file) => relative(tmp, join(pkg, file)).replaceAll("\\", "/");
  writeFileSync(
    entry,
    source.replaceAll('"@saslkit/sasl/scram"', `"${to("scram/mod.ts")}"`)
      .replaceAll('"@saslkit/sasl/digest-md5"', `"${to("digest_md5/mod.ts")}"`)
      .replaceAll('"@saslkit/sasl"', `"${to("mod.ts")}"`),
  );
  const result = await build({
    entryPoints: [entry],
    bundle: true,
    minify: true,
    format: "esm",
    platform: "browser",
    write: false,
    logLevel: "warning",
    metafile: true,
    ...(splitting ? { splitting: true, outdir: join(tmp, `bundle_${name}`) } : {}),
  });
  if (splitting) return splitSizes(result);
  const code = result.outputFiles[0].contents;
  const inputs = Object.entries(Object.values(result.metafile.outputs)[0].inputs)
    .sort((a, b) => b[1].bytesInOutput - a[1].bytesInOutput).slice(0, 4)
    .map(([path, v]) =>
      `${path.replace(/.*node_modules\//, "").replace(/^(\.\.\/)+/, "")} ${v.bytesInOutput}`
    );
  return { minified: code.length, gzip: gzipSync(code, { level: 9 }).length, top: inputs };
}
// With --splitting --format=esm, what an app ships at first load is the entry chunk and the
// chunks it imports statically; what import() loads later is listed beside it, per chunk.
function splitSizes(result) {
  const outputs = result.metafile.outputs;
  const gz = (path) =>
    gzipSync(result.outputFiles.find((f) => f.path === resolve(path)).contents, { level: 9 })
      .length;
  const [entry] = Object.keys(outputs).filter((path) => outputs[path].entryPoint);
  const first = new Set([entry]);
  for (const path of first) {
    for (const i of outputs[path].imports) if (i.kind === "import-statement") first.add(i.path);
  }
  const sum = (paths, f) => paths.reduce((total, path) => total + f(path), 0);
  const firstLoad = [...first];
  const top = firstLoad.flatMap((path) => Object.entries(outputs[path].inputs))
    .sort((a, b) => b[1].bytesInOutput - a[1].bytesInOutput).slice(0, 4)
    .map(([path, v]) =>
      `${path.replace(/.*node_modules\//, "").replace(/^(\.\.\/)+/, "")} ${v.bytesInOutput}`
    );
  const lazy = Object.keys(outputs).filter((path) => !first.has(path)).map((path) => {
    const main = outputs[path].entryPoint ?? path;
    const label = main.replace(/.*node_modules\//, "").replace(/^(\.\.\/)+/, "");
    return `${label} ${gz(path).toLocaleString("en-US")} B gzip`;
  });
  return {
    minified: sum(firstLoad, (path) => outputs[path].bytes),
    gzip: sum(firstLoad, gz),
    top,
    lazy,
  };
}
// DIGEST-MD5 from either entry point (the root and @saslkit/sasl/digest-md5, which also
// re-exports the ciphers of auth-conf): the larger counts.
const digestApp = (from) =>
  `import { DigestMd5Client } from "${from}";\n` +
  'const c = new DigestMd5Client({ username: "u", password: "p", service: "smtp", host: "h" });\n' +
  "c.start();\nexport const answer = (x: Uint8Array) => c.next(x);\n";
const digestBundles = [
  await bundleSize("digest", digestApp("@saslkit/sasl")),
  await bundleSize("digest_subpath", digestApp("@saslkit/sasl/digest-md5")),
];
const bundles = {
  digest: digestBundles.reduce((a, b) => (b.gzip > a.gzip ? b : a)),
  plain: await bundleSize(
    "plain",
    'import { PlainClient } from "@saslkit/sasl";\n' +
      'export const first = new PlainClient({ username: "u", password: "p" }).start();\n',
  ),
  scram: await bundleSize(
    "scram",
    'import { ScramClient } from "@saslkit/sasl/scram";\n' +
      'const c = new ScramClient({ hash: "SHA-256", username: "u", password: "p" });\n' +
      "export const first = c.start();\nexport const answer = (x: Uint8Array) => c.next(x);\n",
    { splitting: true },
  ),
};

// ---- cold import in Node ---------------------------------------------------------------------
// dist/ as npm publishes it: the package's own build (scripts/build_npm.mjs: tsc declarations,
// esbuild bundles).
execFileSync(process.execPath, [join(root, "scripts/build_npm.mjs")], {
  cwd: pkg,
  stdio: ["ignore", "ignore", "inherit"],
});
function coldImport(specifier) {
  const script = `const t = performance.now(); await import(${JSON.stringify(specifier)}); ` +
    "console.log(performance.now() - t);";
  const times = [];
  for (let i = 0; i < (quick ? 2 : 9); i++) {
    const r = spawnSync(process.execPath, ["--input-type=module", "-e", script], {
      cwd: root,
      encoding: "utf8",
    });
    if (r.status !== 0) throw new Error(`bench: cold import of ${specifier} failed: ${r.stderr}`);
    times.push(Number(r.stdout.trim()));
  }
  return median(times);
}
const cold = { saslkit: coldImport("@saslkit/sasl"), crypto: coldImport("node:crypto") };
load.push(os.loadavg());

// ---- the report ------------------------------------------------------------------------------
const version = (command, args) => {
  const r = spawnSync(command, args, { encoding: "utf8" });
  return `${r.stdout}${r.stderr}`.trim().split("\n")[0];
};
const versions = {
  Node: process.version,
  Deno: version(bin("deno"), ["--version"]),
  Bun: version(bin("bun"), ["--version"]),
  JDK: haveJava ? version("java", ["-version"]) : "not available",
  esbuild:
    JSON.parse(readFileSync(join(root, "node_modules/esbuild/package.json"), "utf8")).version,
};
const commit = spawnSync("git", ["rev-parse", "--short", "HEAD"], { cwd: root, encoding: "utf8" })
  .stdout.trim();
const n = (v, digits = 0) =>
  v === undefined
    ? "n/a"
    : v >= 100
    ? Math.round(v).toLocaleString("en-US")
    : v.toFixed(digits || 1);
const ratio = (a, b) => a === undefined || b === undefined ? undefined : a / b;
const rx = (v) => v === undefined ? "n/a" : `${v.toFixed(2)}×`;
const verdict = (ok) => ok === undefined ? "not measured" : ok ? "met" : "**missed**";

const rows = [];
const missed = [];
const JS = ["deno", "node", "bun"];
// 1. exchange
for (const rt of JS) {
  const x = fig(rt, "exchange");
  const jdk = fig("jdk", "exchange");
  const floor = fig(rt, "floor");
  const ok = x === undefined || jdk === undefined ? undefined : x >= 2 * jdk && x >= 0.5 * floor;
  rows.push([
    `1. exchange, ${rt}`,
    `${n(x)}/s`,
    `JDK ${n(jdk)}/s; floor ${n(floor)}/s`,
    `${rx(ratio(x, jdk))} JDK, ${rx(ratio(x, floor))} floor`,
    "≥ 2× JDK and ≥ 0.5× floor",
    verdict(ok),
  ]);
  if (ok === false) missed.push(`exchange-${rt}`);
}
// 2. client step
for (const rt of JS) {
  const x = fig(rt, "client-step");
  const alt = fig(rt, "alt-client-step");
  const ok = x === undefined || alt === undefined ? undefined : x >= alt;
  rows.push([
    `2. client step, ${rt}`,
    `${n(x)}/s`,
    `alt-sasl-digest-md5 ${n(alt)}/s`,
    rx(ratio(x, alt)),
    "≥ 1×",
    verdict(ok),
  ]);
  if (ok === false) missed.push(`client-${rt}`);
}
// 3. layers
for (const spec of layerSpecs) {
  const [, qop, cipher, bytes, direction] = spec.split(":");
  const jdk = fig("jdk", spec);
  const label = `${cipher === "-" ? qop : cipher} ${Number(bytes) / 1024} KiB ${direction}`;
  const values = JS.map((rt) => fig(rt, spec));
  const worst = Math.min(...values.filter((v) => v !== undefined));
  const ok = jdk === undefined ? undefined : values.every((v) => v !== undefined && v >= jdk);
  rows.push([
    `3. wrap+unwrap ${label}`,
    `${values.map((v) => n(v)).join(" / ")} MiB/s`,
    `JDK ${n(jdk)} MiB/s`,
    rx(ratio(worst, jdk)),
    "≥ 1× JDK, every runtime",
    verdict(ok),
  ]);
  if (ok === false) missed.push(`layer-${cipher === "-" ? qop : cipher}`);
}
// 4. SCRAM
for (const rt of JS) {
  const x = fig(rt, "scram");
  const native = fig(rt, "native-pbkdf2");
  // Time per exchange over time per native PBKDF2: at most 1.2.
  const slowdown = ratio(native, x);
  const ok = slowdown === undefined ? undefined : slowdown <= 1.2;
  rows.push([
    `4. SCRAM-SHA-256 exchange, 4096 it., ${rt}`,
    `${n(x)}/s`,
    `${info[`${rt} native PBKDF2`] ?? "native"} ${n(native)}/s`,
    `${rx(slowdown)} the time`,
    "≤ 1.2× the time",
    verdict(ok),
  ]);
  if (ok === false) missed.push(`scram-${rt}`);
}
// 5. size and start-up
const KiB = 1024;
for (
  const [name, limit, label] of [["digest", 6 * KiB, "DigestMd5Client only"], [
    "plain",
    KiB,
    "PlainClient only",
  ], ["scram", 4 * KiB, "ScramClient only"]]
) {
  const b = bundles[name];
  const ok = b.gzip <= limit;
  rows.push([
    `5. bundle, ${label}`,
    `${n(b.gzip)} B gzip (${n(b.minified)} B min)${b.lazy ? " at first load" : ""}`,
    "—",
    "—",
    `≤ ${limit} B`,
    verdict(ok),
  ]);
  if (!ok) missed.push(`bundle-${name}`);
}
{
  const ok = cold.saslkit <= 5;
  rows.push([
    "5. cold import of @saslkit/sasl, Node",
    `${cold.saslkit.toFixed(1)} ms`,
    `node:crypto ${cold.crypto.toFixed(1)} ms`,
    rx(ratio(cold.saslkit, cold.crypto)),
    "≤ 5 ms",
    verdict(ok),
  ]);
  if (!ok) missed.push("cold");
}

const LIMITS = JSON.parse(readFileSync(join(here, "limits.json"), "utf8"));
const limitNotes = [...new Set(missed.map((m) => m.replace(/-(deno|node|bun)$/, "")))]
  .map((k) =>
    `- **${k}**: ${
      LIMITS[k] ?? "no analysis written yet: profile it (node --cpu-prof) before changing it."
    }`
  );

const md = `# saslkit bench results

Written by \`npm run bench\` (packages/sasl/bench/run.mjs${
  quick ? " --quick: short timings, not for reading" : ""
}); do not
edit by hand. Every figure is measured in this run, beside its anchor; a figure is the median of
${rounds} interleaved round${
  rounds === 1 ? "" : "s"
}. Ratios, not absolute times, are what the targets (issue 10) ask for.

## Where and when

- Date: ${new Date().toISOString()}; commit ${commit}
- Machine: ${os.cpus()[0]?.model ?? "unknown CPU"}, ${os.cpus().length} cores, ${
  (os.totalmem() / 2 ** 30).toFixed(1)
} GiB, ${os.type()} ${os.release()}
- Runtimes: Node ${versions.Node}; ${versions.Deno}; Bun ${versions.Bun}; ${versions.JDK}; esbuild ${versions.esbuild}
- Load average (1, 5, 15 min) before, after each round, after the sizes: ${
  load.map((l) => l.map((x) => x.toFixed(2)).join(" ")).join(" → ")
}
- MD5 backends chosen: ${JS.map((rt) => `${rt}: ${info[`${rt} MD5 backend`] ?? "?"}`).join("; ")}
- Timing: ${warmupMs} ms warm-up (JDK ${jdkWarmupMs} ms), ${measureMs} ms measured, per case and runtime

## Figures

| case | saslkit | anchor | ratio | target | verdict |
|---|---|---|---|---|---|
${rows.map((r) => `| ${r.join(" | ")} |`).join("\n")}

Layer figures are Deno / Node / Bun; the ratio is the slowest runtime's against the JDK.
Bundles: esbuild ${versions.esbuild}, --bundle --minify, browser, gzip -9, an app importing only the
named class from \`@saslkit/sasl\` (DIGEST-MD5: also from \`@saslkit/sasl/digest-md5\`, the larger
counts). Largest inputs: DIGEST-MD5 ${bundles.digest.top.join(", ")}; PLAIN ${
  bundles.plain.top.join(", ")
}; SCRAM ${bundles.scram.top.join(", ")}. The SCRAM bundle is built with --splitting: its figure
is what loads first (the entry chunk and what it imports statically); import() loads, only when
needed, ${bundles.scram.lazy.join("; ")}.

## Missed targets: what limits them, what would be next

${limitNotes.length ? limitNotes.join("\n") : "None."}
`;
mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, md);
// Formatted as the repository's `deno fmt --check` expects.
execFileSync(bin("deno"), ["fmt", "--quiet", out], { cwd: root });
log(`bench: wrote ${relative(root, out)} (${missed.length} missed)`);
