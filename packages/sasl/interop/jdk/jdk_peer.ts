/**
 * Compiles and starts `DigestPeer.java`, the JDK's own DIGEST-MD5 behind the line protocol of
 * `../peer.ts`. The classes are cached under the repository's `.tmp/jdk-peer/<source hash>/`,
 * so javac runs once per change of the source.
 *
 * @module
 */

import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync } from "node:fs";
import { join } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { type Peer, type PeerConfig, startPeer, type StartPeerOptions } from "../peer.ts";

const SOURCE = fileURLToPath(new URL("./DigestPeer.java", import.meta.url));
const CACHE_ROOT = fileURLToPath(new URL("../../../../.tmp/jdk-peer/", import.meta.url));

/** Whether the JDK peer can run here, and how to start it. */
export type JdkAvailability =
  | { readonly ok: true; readonly command: readonly string[]; readonly version: string }
  | { readonly ok: false; readonly reason: string };

let cached: JdkAvailability | undefined;

function toolVersion(tool: string): string | undefined {
  try {
    const out = execFileSync(tool, ["-version"], {
      encoding: "utf8",
      stdio: ["ignore", "pipe", "pipe"],
      timeout: 30000,
    });
    return out.trim() || tool;
  } catch (error) {
    // `java -version` writes to stderr; execFileSync still succeeds then, so only a missing
    // or broken tool lands here.
    const e = error as { code?: string };
    if (e.code === "ENOENT") return undefined;
    throw error;
  }
}

/**
 * Compiles `DigestPeer.java` when needed and returns the command that starts it, or why it
 * cannot run (no java or javac on PATH).
 *
 * @example
 * ```ts ignore
 * const jdk = jdkPeer();
 * if (jdk.ok) console.log(jdk.command.join(" "));
 * ```
 */
export function jdkPeer(): JdkAvailability {
  if (cached) return cached;
  if (toolVersion("java") === undefined) {
    return cached = { ok: false, reason: "java is not on PATH" };
  }
  const javac = toolVersion("javac");
  if (javac === undefined) return cached = { ok: false, reason: "javac is not on PATH" };
  const source = readFileSync(SOURCE);
  const hash = createHash("sha256").update(source).digest("hex").slice(0, 16);
  const dir = join(CACHE_ROOT, hash);
  if (!existsSync(join(dir, "DigestPeer.class"))) {
    const partial = `${dir}.partial-${process.pid}`;
    rmSync(partial, { recursive: true, force: true });
    mkdirSync(partial, { recursive: true });
    execFileSync("javac", ["-nowarn", "-encoding", "UTF-8", "-d", partial, SOURCE], {
      stdio: ["ignore", "inherit", "inherit"],
      timeout: 120000,
    });
    try {
      renameSync(partial, dir);
    } catch {
      // Another process compiled the same source first.
      rmSync(partial, { recursive: true, force: true });
    }
  }
  const command = [
    "java",
    // The peer lives for one exchange: start fast rather than run fast.
    "-XX:+UseSerialGC",
    "-XX:TieredStopAtLevel=1",
    "-Xshare:auto",
    "-cp",
    dir,
    "DigestPeer",
  ];
  return cached = { ok: true, command, version: javac };
}

/**
 * Starts a JDK peer. Java decodes its arguments in the locale's charset, so the peer runs
 * under `C.UTF-8` to receive non-ASCII credentials intact.
 *
 * @throws {Error} when the JDK is not available.
 *
 * @example
 * ```ts ignore
 * const server = await startJdkPeer({ role: "server", ...config });
 * ```
 */
export function startJdkPeer(config: PeerConfig, options: StartPeerOptions = {}): Promise<Peer> {
  const jdk = jdkPeer();
  if (!jdk.ok) throw new Error(`JDK peer unavailable: ${jdk.reason}`);
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (value !== undefined) env[key] = value;
  }
  env.LC_ALL = "C.UTF-8";
  return startPeer(jdk.command, config, { ...options, env: { ...env, ...options.env } });
}
