/**
 * Builds the Cyrus SASL peer (`sasl_peer.c`, linked against the system's libsasl2) with
 * `build.sh` and says how to start it, or why it cannot be built.
 *
 * @module
 */

import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";

/** The outcome of {@linkcode buildCyrusPeer}. */
export type CyrusPeerBuild =
  | {
    /** The peer was built. */
    readonly ok: true;
    /** The command to pass to `startPeer` (the JSON config is appended by it). */
    readonly command: readonly string[];
    /** The installed libsasl2 package version, such as `2.1.28+dfsg-10+deb12u1`. */
    readonly cyrusVersion: string;
  }
  | {
    /** The peer could not be built. */
    readonly ok: false;
    /** What went wrong, from build.sh and sasl_dev.sh. */
    readonly reason: string;
  };

const BUILD_SCRIPT = fileURLToPath(new URL("./build.sh", import.meta.url));

/**
 * Compiles the peer into `.tmp/cyrus/` (only when the source changed). When the headers or
 * plugins are missing, build.sh runs `scripts/peers/sasl_dev.sh`, which installs them as root
 * and fails with a reason otherwise.
 *
 * @example
 * ```ts ignore
 * const build = buildCyrusPeer();
 * if (build.ok) await startPeer(build.command, config);
 * ```
 */
export function buildCyrusPeer(): CyrusPeerBuild {
  const result = spawnSync("bash", [BUILD_SCRIPT], { encoding: "utf8" });
  if (result.error) return { ok: false, reason: `cannot run build.sh: ${result.error.message}` };
  if (result.status !== 0) {
    const output = `${result.stderr ?? ""}${result.stdout ?? ""}`.trim();
    return { ok: false, reason: `build.sh exited with ${result.status}: ${output}` };
  }
  const lines = result.stdout.trim().split("\n");
  const binary = lines[lines.length - 1];
  return { ok: true, command: [binary], cyrusVersion: cyrusVersion() };
}

function cyrusVersion(): string {
  const result = spawnSync("dpkg-query", ["-W", "-f", "${Version}", "libsasl2-2"], {
    encoding: "utf8",
  });
  return result.status === 0 && result.stdout ? result.stdout.trim() : "unknown";
}
