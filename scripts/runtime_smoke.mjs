// Proves the runtimes the README promises beyond Deno and Node:
//   (a) Bun: packs every workspace package, installs the tarballs into a scratch project (as
//       npm_smoke.mjs does) and runs the npm smoke fixtures there under Bun, from ESM and from
//       require(), plus scripts/runtime_smoke/sasl_web.mjs (known answers, no node: imports);
//   (b) a browser: bundles packages/sasl/mod.ts with `deno bundle --platform browser`, checks
//       that the bundle imports nothing and needs no Node globals, and runs sasl_web.mjs in a
//       page and in a dedicated Web Worker in headless Chromium, from file:// URLs only.
// A missing bun or chromium fails the run under CI=true, and is a loud SKIPPED otherwise
// (`npm run peers` installs Chromium; `npm ci` installs Bun).
// SASLKIT_SMOKE_KEEP=1 keeps the scratch directory (the page is browser/page.html there).

import { spawn, spawnSync } from "node:child_process";
import {
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import ts from "typescript";
import { BIN, ENV, fail, header, readJson, ROOT, run } from "./_workspace.mjs";
import { packAll } from "./pack.mjs";
import { installTarballs, SCRATCH_ENV, writeCjsEntry, writeEsmEntry } from "./_scratch.mjs";

const CI = process.env.CI === "true";
const FIXTURES = join(ROOT, "scripts", "runtime_smoke");
const TRANSCRIPTS = join(ROOT, "packages", "sasl", "testdata", "cyrus");
const BUN_TIMEOUT_MS = 120_000;
const CHROMIUM_TIMEOUT_MS = 120_000;

/** The first command of `candidates` that answers `--version`, with what it printed. */
function findTool(candidates) {
  for (const command of candidates) {
    const result = spawnSync(command, ["--version"], { encoding: "utf8", timeout: 30_000 });
    if (result.status === 0) return { command, version: result.stdout.trim().split("\n")[0] };
  }
  return undefined;
}

/** Runs a command with inherited output and a time limit; throws on failure. */
function runTimed(command, args, { cwd, env, timeout }) {
  console.log(`$ ${[command, ...args].join(" ")}   (in ${cwd})`);
  const result = spawnSync(command, args, { cwd, env, stdio: "inherit", timeout });
  if (result.error?.code === "ETIMEDOUT") {
    throw new Error(`${command} ${args.join(" ")} did not finish within ${timeout / 1000} s`);
  }
  if (result.error) throw new Error(`${command} could not be started: ${result.error.message}`);
  if (result.status !== 0) {
    throw new Error(`${command} ${args.join(" ")} exited with ${result.status ?? result.signal}`);
  }
}

function transcripts() {
  const names = readdirSync(TRANSCRIPTS).filter((file) => /^auth-(int|conf-.+)\.json$/.test(file));
  return names.sort().map((file) => readJson(join(TRANSCRIPTS, file)));
}

function skipped(what, why) {
  const bar = "!".repeat(78);
  console.log(`\n${bar}\n!! runtime smoke: ${what} SKIPPED: ${why}\n${bar}`);
}

// ------------------------------------------------------------------------------------ Bun

function bunSmoke(bun, tmp) {
  const tarballs = packAll(join(tmp, "tarballs"));

  header("runtime smoke: (a) install the tarballs into a scratch project for Bun");
  const scratch = join(tmp, "bun");
  installTarballs(scratch, "saslkit-bun-smoke", tarballs, [".mjs"]);
  copyFileSync(join(FIXTURES, "sasl_web.mjs"), join(scratch, "smoke", "sasl_web.mjs"));
  writeFileSync(join(scratch, "transcripts.json"), JSON.stringify(transcripts()));

  // --no-install: Bun would otherwise fetch a package it cannot find instead of failing.
  const runBun = (file) =>
    runTimed(bun.command, ["--no-install", file], {
      cwd: scratch,
      env: SCRATCH_ENV,
      timeout: BUN_TIMEOUT_MS,
    });

  const label = '" (Bun " + Bun.version + ")"';
  header(`runtime smoke: (a) Bun ${bun.version}: import from ESM`);
  for (const { name } of tarballs) {
    runBun(writeEsmEntry(scratch, name, {
      preamble: 'if (typeof Bun === "undefined") throw new Error("not running under Bun");\n',
      label,
    }));
  }

  header(`runtime smoke: (a) Bun ${bun.version}: require() from CommonJS`);
  for (const { name } of tarballs) runBun(writeCjsEntry(scratch, name, { label }));

  header(`runtime smoke: (a) Bun ${bun.version}: known answers (sasl_web.mjs)`);
  writeFileSync(
    join(scratch, "web_sasl.mjs"),
    `import * as sasl from "@saslkit/sasl";\n` +
      `import smoke from "./smoke/sasl_web.mjs";\n` +
      `import transcripts from "./transcripts.json" with { type: "json" };\n` +
      `console.log("ok: " + await smoke(sasl, transcripts));\n`,
  );
  runBun("web_sasl.mjs");
}

// -------------------------------------------------------------------------------- browser

/**
 * What a browser without polyfills could not load: any import (the bundle must stand alone),
 * and any use of Node's globals that `typeof` does not guard. Parsed, not grepped, so comments,
 * strings and property names (`cipher.process`) do not count.
 */
function bundleProblems(code) {
  const file = ts.createSourceFile(
    "bundle.js",
    code,
    ts.ScriptTarget.Latest,
    true,
    ts.ScriptKind.JS,
  );
  const NODE_GLOBALS = new Set([
    "process",
    "Buffer",
    "global",
    "require",
    "__dirname",
    "__filename",
  ]);
  const declared = new Set();
  const uses = [];
  const problems = [];
  // SCRAM's SASLprep library and its dependencies use Buffer, but saslkit loads them only with
  // import() for a credential that is not printable ASCII; in the bundle they are CommonJS
  // modules run on first require. The page proves it: SCRAM with ASCII works without Buffer,
  // and a non-ASCII password gets the typed saslprep-unavailable error.
  const LAZY = ["@mongodb-js/saslprep/", "sparse-bitfield/", "memory-pager/"];
  const lazyFrom = [];
  for (const m of code.matchAll(/^\/\/ (\S+)$/gm)) {
    lazyFrom.push([m.index, LAZY.some((name) => m[1].includes(`node_modules/${name}`))]);
  }
  const isLazy = (node) => lazyFrom.findLast(([at]) => at <= node.getStart())?.[1] ?? false;
  const where = (node) => `line ${file.getLineAndCharacterOfPosition(node.getStart()).line + 1}`;
  const visit = (node) => {
    if (
      (ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) && node.moduleSpecifier
    ) {
      problems.push(`${where(node)}: imports ${node.moduleSpecifier.text}`);
    } else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword) {
      problems.push(`${where(node)}: dynamic import() ${node.arguments[0]?.getText() ?? ""}`);
    } else if (
      ts.isCallExpression(node) && ts.isIdentifier(node.expression) &&
      /^_*require$/.test(node.expression.text) && node.arguments[0] &&
      ts.isStringLiteral(node.arguments[0])
    ) {
      problems.push(`${where(node)}: ${node.expression.text}(${node.arguments[0].getText()})`);
    }
    if (
      (ts.isVariableDeclaration(node) || ts.isParameter(node) || ts.isFunctionDeclaration(node) ||
        ts.isClassDeclaration(node)) && node.name && ts.isIdentifier(node.name)
    ) {
      declared.add(node.name.text);
    }
    if (ts.isIdentifier(node) && NODE_GLOBALS.has(node.text)) {
      const parent = node.parent;
      const isName = (ts.isPropertyAccessExpression(parent) && parent.name === node) ||
        ((ts.isPropertyAssignment(parent) || ts.isMethodDeclaration(parent) ||
          ts.isPropertyDeclaration(parent) || ts.isGetAccessor(parent) ||
          ts.isSetAccessor(parent)) && parent.name === node);
      if (!isName && !ts.isTypeOfExpression(parent)) uses.push(node);
    }
    ts.forEachChild(node, visit);
  };
  visit(file);
  for (const node of uses) {
    if (!declared.has(node.text) && !isLazy(node)) {
      problems.push(
        `${where(node)}: uses Node's ${node.text}: ${node.parent.getText().slice(0, 80)}`,
      );
    }
  }
  return problems;
}

const dataUrl = (code) => `data:text/javascript;base64,${Buffer.from(code).toString("base64")}`;

// The page runs the fixture itself, then in a dedicated worker. Chromium refuses a module
// worker from a blob: URL in a file:// page ("cross-origin redirects of the top-level worker
// script"), so the worker is a classic one that import()s the same data: URL modules.
function page(bundle, fixture, vectors) {
  const script = `
const BUNDLE = ${JSON.stringify(dataUrl(bundle))};
const FIXTURE = ${JSON.stringify(dataUrl(fixture))};
const out = document.getElementById("saslkit-result");
// Stack traces name modules by their data: URL, which is the whole module.
const report = (text) => {
  out.textContent = text.replaceAll(BUNDLE, "<sasl bundle>").replaceAll(FIXTURE, "<sasl_web.mjs>");
};
const TRANSCRIPTS = ${JSON.stringify(vectors)};
const WORKER = \`
self.onmessage = async ({ data }) => {
  try {
    if (typeof document !== "undefined" || typeof DedicatedWorkerGlobalScope === "undefined" ||
        !(self instanceof DedicatedWorkerGlobalScope)) {
      throw new Error("not in a dedicated worker");
    }
    if (typeof process !== "undefined" || typeof Buffer !== "undefined") {
      throw new Error("this worker defines process or Buffer: the check proves nothing");
    }
    const sasl = await import(data.bundle);
    const { default: smoke } = await import(data.fixture);
    self.postMessage({ ok: true, details: await smoke(sasl, data.transcripts) });
  } catch (error) {
    self.postMessage({ ok: false, error: String((error && error.stack) || error) });
  }
};\`;
function inWorker() {
  return new Promise((resolve, reject) => {
    const url = URL.createObjectURL(new Blob([WORKER], { type: "text/javascript" }));
    const worker = new Worker(url);
    worker.onerror = (event) => reject(new Error("worker failed to load or threw: " + (event.message ?? event.type)));
    worker.onmessage = ({ data }) => {
      worker.terminate();
      if (data.ok) resolve(data.details);
      else reject(new Error("in the worker: " + data.error));
    };
    worker.postMessage({ bundle: BUNDLE, fixture: FIXTURE, transcripts: TRANSCRIPTS });
  });
}
try {
  if (typeof process !== "undefined" || typeof Buffer !== "undefined") {
    throw new Error("this browser defines process or Buffer: the check proves nothing");
  }
  const sasl = await import(BUNDLE);
  const { default: smoke } = await import(FIXTURE);
  const inPage = await smoke(sasl, TRANSCRIPTS);
  const inTheWorker = await inWorker();
  report(["RESULT", "OK"].join(":") + " page: " + inPage + " || worker: " + inTheWorker +
    " || " + navigator.userAgent);
} catch (error) {
  report(["RESULT", "FAIL"].join(":") + " " + ((error && error.stack) || error));
}
`;
  // No fetch, no navigation, nothing but this page's own inline script and its data:/blob: URLs.
  const csp = "default-src 'none'; script-src 'unsafe-inline' data: blob:; worker-src blob:";
  return `<!doctype html>
<html>
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<title>saslkit browser smoke</title>
</head>
<body>
<pre id="saslkit-result">RESULT:PENDING</pre>
<script type="module">${script.replaceAll("</script", "<\\/script")}</script>
</body>
</html>
`;
}

function chromiumFlags(profile) {
  return [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--no-default-browser-check",
    "--disable-crash-reporter",
    // No name resolves: nothing can leave the machine even if something tried.
    "--host-resolver-rules=MAP * ~NOTFOUND",
    `--user-data-dir=${profile}`,
  ];
}

/**
 * Opens `url` in headless Chromium and waits until the page's result element leaves
 * RESULT:PENDING. Not `--dump-dom`: it dumps at the load event, which does not wait for the
 * module script's await of the worker, and with `--virtual-time-budget` it still dumped before
 * the worker's dynamic import() had finished. So this drives Chromium over the DevTools
 * protocol on a pipe (fds 3 and 4; no port is opened) and polls the element. Chromium runs in
 * its own process group, so a timeout ends its helpers too.
 */
async function runInChromium(command, flags, url) {
  console.log(`$ ${[command, ...flags, "--remote-debugging-pipe"].join(" ")}  → ${url}`);
  const child = spawn(command, [...flags, "--remote-debugging-pipe", "about:blank"], {
    env: ENV,
    stdio: ["ignore", "ignore", "pipe", "pipe", "pipe"],
    detached: true,
  });
  let stderr = "";
  child.stderr.on("data", (chunk) => (stderr = (stderr + chunk).slice(-20000)));
  const exited = new Promise((resolve) =>
    child.on("close", (code, signal) => resolve(code ?? signal))
  );
  const pending = new Map();
  let nextId = 0;
  let buffered = "";
  let failure;
  const broken = (error) => {
    failure ??= error;
    for (const { reject } of pending.values()) reject(failure);
    pending.clear();
  };
  const timer = setTimeout(
    () => broken(new Error(`the page did not report within ${CHROMIUM_TIMEOUT_MS / 1000} s`)),
    CHROMIUM_TIMEOUT_MS,
  );
  child.on(
    "error",
    (error) => broken(new Error(`chromium could not be started: ${error.message}`)),
  );
  exited.then((how) => broken(new Error(`chromium exited (${how}) during the test`)));
  child.stdio[4].on("data", (chunk) => {
    buffered += chunk.toString("utf8");
    for (let end; (end = buffered.indexOf("\0")) >= 0;) {
      const message = JSON.parse(buffered.slice(0, end));
      buffered = buffered.slice(end + 1);
      const waiter = pending.get(message.id);
      if (!waiter) continue; // an event
      pending.delete(message.id);
      if (message.error) waiter.reject(new Error(`DevTools: ${JSON.stringify(message.error)}`));
      else waiter.resolve(message.result);
    }
  });
  child.stdio[3].on("error", () => {}); // a closed pipe shows up as the exit above
  const send = (method, params = {}, sessionId = undefined) =>
    new Promise((resolve, reject) => {
      if (failure) return reject(failure);
      const id = ++nextId;
      pending.set(id, { resolve, reject });
      child.stdio[3].write(`${JSON.stringify({ id, method, params, sessionId })}\0`);
    });

  try {
    const { targetId } = await send("Target.createTarget", { url });
    const { sessionId } = await send("Target.attachToTarget", { targetId, flatten: true });
    for (;;) {
      const { result } = await send("Runtime.evaluate", {
        expression: `document.getElementById("saslkit-result")?.textContent ?? "RESULT:PENDING"`,
        returnByValue: true,
      }, sessionId);
      if (result.value !== "RESULT:PENDING") return { text: result.value, stderr };
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  } catch (error) {
    error.stderr = stderr;
    throw error;
  } finally {
    clearTimeout(timer);
    send("Browser.close").catch(() => {});
    const killer = setTimeout(() => {
      try {
        process.kill(-child.pid, "SIGKILL");
      } catch { /* already gone */ }
    }, 5000);
    await exited;
    clearTimeout(killer);
  }
}

async function browserSmoke(chromium, tmp) {
  const dir = join(tmp, "browser");
  mkdirSync(dir, { recursive: true });

  header("runtime smoke: (b) bundle packages/sasl/mod.ts for the browser");
  const bundleFile = join(dir, "sasl.js");
  run(join(BIN, "deno"), [
    "bundle",
    "--platform",
    "browser",
    "--format",
    "esm",
    "--output",
    bundleFile,
    join(ROOT, "packages", "sasl", "mod.ts"),
  ]);
  const bundle = readFileSync(bundleFile, "utf8");
  const problems = bundleProblems(bundle);
  if (problems.length) {
    throw new Error(
      `the browser bundle would not load without polyfills:\n  ${problems.join("\n  ")}`,
    );
  }
  console.log(`ok: ${bundle.length} bytes; no import, no node: module, no process/Buffer/require`);

  header(`runtime smoke: (b) ${chromium.version}, headless: in a page and in a Web Worker`);
  const pageFile = join(dir, "page.html");
  const vectors = transcripts();
  writeFileSync(
    pageFile,
    page(bundle, readFileSync(join(FIXTURES, "sasl_web.mjs"), "utf8"), vectors),
  );
  const profile = join(dir, "profile");
  mkdirSync(profile);
  const started = Date.now();
  let outcome;
  try {
    outcome = await runInChromium(
      chromium.command,
      chromiumFlags(profile),
      pathToFileURL(pageFile).href,
    );
  } catch (error) {
    console.error(error.stderr?.split("\n").slice(-30).join("\n") ?? "");
    throw error;
  }
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  const { text } = outcome;
  if (!text.startsWith("RESULT:OK ")) {
    console.error(outcome.stderr.split("\n").slice(-30).join("\n"));
    throw new Error(`the page in chromium (${seconds} s) reported: ${text}`);
  }
  for (const part of text.slice("RESULT:OK ".length).split(" || ")) console.log(`ok: ${part}`);
  console.log(`chromium took ${seconds} s`);
}

// ----------------------------------------------------------------------------------- main

async function main(tmp) {
  header("runtime smoke: find the runtimes");
  const bun = findTool([join(BIN, "bun"), "bun"]);
  const chromium = findTool([process.env.SASLKIT_CHROMIUM, "chromium"].filter(Boolean));
  console.log(`bun: ${bun ? `${bun.command} (${bun.version})` : "NOT FOUND"}`);
  console.log(`chromium: ${chromium ? `${chromium.command} (${chromium.version})` : "NOT FOUND"}`);
  const missing = [];
  if (!bun) {
    missing.push(["Bun", "no working bun in node_modules/.bin or on PATH (npm ci installs it)"]);
  }
  if (!chromium) {
    missing.push(["the browser", "no chromium on PATH (npm run peers installs it as root)"]);
  }
  if (missing.length && CI) {
    throw new Error(
      `CI=true and a runtime is missing: ${missing.map(([, why]) => why).join("; ")}`,
    );
  }

  const ran = [];
  if (bun) {
    bunSmoke(bun, tmp);
    ran.push(`Bun ${bun.version}`);
  }
  if (chromium) {
    await browserSmoke(chromium, tmp);
    ran.push(`${chromium.version} (page and worker)`);
  }
  for (const [what, why] of missing) skipped(what, why);
  return ran;
}

const tmp = mkdtempSync(join(tmpdir(), "saslkit-runtime-smoke-"));
let failure;
let ran = [];
try {
  ran = await main(tmp);
} catch (error) {
  failure = error;
} finally {
  if (process.env.SASLKIT_SMOKE_KEEP) console.log(`\nkept ${tmp}`);
  else rmSync(tmp, { recursive: true, force: true });
}
if (failure) fail(`runtime smoke: ${failure.message}`);
console.log(`\nruntime smoke: passed on ${ran.length ? ran.join(", ") : "nothing (all SKIPPED)"}`);
