/**
 * The real SCRAM peers of the interop tests, and how each test finds out whether it can run:
 * Cyrus SASL 2.1.28's libscram through the C peer (`cyrus/sasl_peer.c`), GNU SASL 2.2's `gsasl`
 * command through its adapter (`gsasl/gsasl_peer.ts`), and a private PostgreSQL 15 cluster
 * (`postgres/cluster.ts`). A peer that cannot start fails its tests under `CI=true` and skips
 * them, loudly, elsewhere (scripts/peers/sasl_dev.sh and scram_peers.sh install them as root).
 *
 * @module
 */

import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { buildCyrusPeer } from "./cyrus/build.ts";

/** True under CI, where a peer that cannot start is a failure. */
export const CI: boolean = Deno.env.get("CI") === "true";

/** A peer that can be started, or why not. */
export type PeerAvailability =
  | { readonly ok: true; readonly command: readonly string[]; readonly version: string }
  | { readonly ok: false; readonly reason: string };

const SCRAM_PEERS_SCRIPT = fileURLToPath(
  new URL("../../../scripts/peers/scram_peers.sh", import.meta.url),
);
const GSASL_ADAPTER = fileURLToPath(new URL("./gsasl/gsasl_peer.ts", import.meta.url));

let installTried: string | undefined;

/** Runs scram_peers.sh once (it is silent and quick when everything is installed). */
export function ensureScramPeers(): string | undefined {
  if (installTried !== undefined) return installTried || undefined;
  const result = spawnSync("bash", [SCRAM_PEERS_SCRIPT], { encoding: "utf8" });
  installTried = result.status === 0
    ? ""
    : `scram_peers.sh exited with ${result.status}: ${(result.stderr ?? "").trim()}`;
  return installTried || undefined;
}

/** The Cyrus C peer (built on demand). */
export function cyrusPeer(): PeerAvailability {
  const build = buildCyrusPeer();
  if (!build.ok) return build;
  return { ok: true, command: build.command, version: `Cyrus SASL ${build.cyrusVersion}` };
}

/** The gsasl adapter, run by this Deno. */
export function gsaslPeer(): PeerAvailability {
  const probe = () => spawnSync("gsasl", ["--version"], { encoding: "utf8" });
  let version = probe();
  if (version.status !== 0) {
    const install = ensureScramPeers();
    version = probe();
    if (version.status !== 0) {
      const why = version.error?.message ?? `exit status ${version.status} ${version.stderr ?? ""}`;
      return {
        ok: false,
        reason: `gsasl --version failed: ${why.trim()}${install ? `; ${install}` : ""}`,
      };
    }
  }
  const first = version.stdout.split("\n")[0].trim();
  if (!/\b2\.\d+/.test(first)) return { ok: false, reason: `need gsasl 2.x, found ${first}` };
  return {
    ok: true,
    command: [Deno.execPath(), "run", "--allow-run=gsasl", "--allow-env", GSASL_ADAPTER],
    version: first,
  };
}

/** Available when both are; runs with the first one's command. */
export function both(first: PeerAvailability, second: PeerAvailability): PeerAvailability {
  if (!first.ok) return first;
  if (!second.ok) return second;
  return first;
}

/** Prints the loud banner of a suite that cannot run. */
export function announceUnavailable(suite: string, reason: string, hint: string): void {
  const bar = "!".repeat(78);
  console.error(
    `\n${bar}\n!! ${suite} interop tests ${CI ? "FAIL (CI=true)" : "SKIPPED"}: ` +
      `the peer cannot start.\n!! ${reason.replaceAll("\n", "\n!! ")}\n!! ${hint}\n${bar}\n`,
  );
}

/**
 * Registers tests that need a peer: they run when it is available, fail under CI when it is
 * not, and are ignored (after the banner) otherwise.
 *
 * @example
 * ```ts ignore
 * const live = liveTests("gsasl", gsaslPeer(), "run scripts/peers/scram_peers.sh as root");
 * live("saslkit client -> gsasl server", async (command) => { ... });
 * ```
 */
export function liveTests(
  suite: string,
  availability: PeerAvailability,
  hint: string,
): (name: string, fn: (command: readonly string[]) => Promise<void>) => void {
  if (!availability.ok) announceUnavailable(suite, availability.reason, hint);
  return (name, fn) => {
    const fullName = `${suite} live: ${name}`;
    if (availability.ok) {
      const command = availability.command;
      Deno.test(fullName, () => fn(command));
    } else if (CI) {
      const reason = availability.reason;
      Deno.test(fullName, () => {
        throw new Error(`the ${suite} peer cannot start: ${reason}`);
      });
    } else {
      Deno.test({ name: fullName, ignore: true, fn: () => {} });
    }
  };
}

/** Hex of a byte array. */
export function hex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/**
 * Channel-binding data both sides agree on, of the usual sizes: 12 bytes for tls-unique (a
 * TLS 1.2 Finished), 32 for tls-exporter and tls-server-end-point (SHA-256). Any bytes do for
 * the peers that take the data from the application.
 */
export function bindingData(type: string, seed = 1): Uint8Array {
  const size = type === "tls-unique" ? 12 : 32;
  const out = new Uint8Array(size);
  for (let i = 0; i < size; i++) out[i] = (i * 37 + seed * 101 + type.length) & 0xff;
  return out;
}
