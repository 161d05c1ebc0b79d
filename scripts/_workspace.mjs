// Helpers shared by the workspace scripts: where the repo is, which packages it has, and how to
// run a tool so that a failure stops the script with the tool's own output in view.

import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { delimiter, dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");

// npm scripts get node_modules/.bin on PATH; `node scripts/x.mjs` run by hand does not.
export const BIN = join(ROOT, "node_modules", ".bin");
export const ENV = { ...process.env, PATH: `${BIN}${delimiter}${process.env.PATH ?? ""}` };

/**
 * The workspace packages in the order the root package.json lists them (dependency order), each
 * with its directory and both manifests.
 */
export function workspacePackages() {
  const root = readJson(join(ROOT, "package.json"));
  return (root.workspaces ?? []).map((ws) => {
    const dir = join(ROOT, ws);
    const packageJson = readJson(join(dir, "package.json"));
    const denoJsonPath = join(dir, "deno.json");
    const denoJson = existsSync(denoJsonPath) ? readJson(denoJsonPath) : undefined;
    return { path: ws, dir, name: packageJson.name, packageJson, denoJson };
  });
}

/** Every directory under packages/, whether or not a manifest lists it. */
export function packageDirs() {
  return readdirSync(join(ROOT, "packages"), { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .map((entry) => join(ROOT, "packages", entry.name));
}

export function readJson(path) {
  return JSON.parse(readFileSync(path, "utf8"));
}

/** The files a deno.json "exports" names, whether it is one path or a map. */
export function exportFiles(denoJson) {
  const exports = denoJson?.exports;
  if (typeof exports === "string") return [exports];
  if (exports && typeof exports === "object") return Object.values(exports);
  return [];
}

export function header(text) {
  console.log(`\n==> ${text}`);
}

export function fail(message) {
  console.error(`\nFAILED: ${message}`);
  process.exit(1);
}

/**
 * Runs a command with inherited output; throws when it cannot start or exits non-zero. With
 * `capture`, stdout is returned instead of shown (stderr is still shown).
 */
export function run(command, args, { cwd = ROOT, env = ENV, capture = false } = {}) {
  console.log(`$ ${[command, ...args].join(" ")}${cwd === ROOT ? "" : `   (in ${cwd})`}`);
  const result = spawnSync(command, args, {
    cwd,
    env,
    stdio: capture ? ["ignore", "pipe", "inherit"] : "inherit",
    encoding: "utf8",
    maxBuffer: 64 * 1024 * 1024,
  });
  if (result.error) throw new Error(`${command} could not be started: ${result.error.message}`);
  if (result.status !== 0) {
    throw new Error(`${command} ${args.join(" ")} exited with ${result.status ?? result.signal}`);
  }
  return result.stdout;
}
