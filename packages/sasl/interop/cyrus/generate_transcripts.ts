/**
 * Records Cyrus SASL talking to itself — a Cyrus client peer against a Cyrus server peer — for
 * every case of `cases.ts`, and writes one transcript per case to `packages/sasl/testdata/cyrus/`:
 * the peer configs, every SASL message in order, both outcomes, and wrapped buffers both ways
 * with their plaintexts. `cyrus_test.ts` replays them against saslkit without Cyrus.
 *
 * Run by hand after changing the peer or the cases (the nonces are random, so every run changes
 * every file):
 *
 * ```sh
 * node_modules/.bin/deno run -A packages/sasl/interop/cyrus/generate_transcripts.ts
 * ```
 *
 * @module
 */

import { encodeBase64 } from "../../base64.ts";
import { exchangeWrapped, type PeerResult, peerWrapSide, runPeers, startPeer } from "../peer.ts";
import { buildCyrusPeer } from "./build.ts";
import { clientConfig, CYRUS_CASES, type CyrusCase, serverConfig } from "./cases.ts";
import type { Transcript } from "./transcript.ts";

const OUT_DIR = new URL("../../testdata/cyrus/", import.meta.url);

/**
 * Runs one case between two Cyrus peers and returns its transcript.
 *
 * @example
 * ```ts ignore
 * const transcript = await record(command, "2.1.28", CYRUS_CASES[0]);
 * ```
 */
export async function record(
  command: readonly string[],
  cyrusVersion: string,
  c: CyrusCase,
): Promise<Transcript> {
  const server = await startPeer(command, serverConfig(c));
  const client = await startPeer(command, clientConfig(c));
  try {
    const exchange = await runPeers(client, server);
    check(c, exchange.client, "client");
    check(c, exchange.server, "server");
    const wrapped = c.expectQop === "auth"
      ? []
      : await exchangeWrapped(peerWrapSide(client), server);
    const decoder = new TextDecoder("utf-8", { fatal: true });
    return {
      name: c.name,
      description: c.description,
      generatedBy: "packages/sasl/interop/cyrus/generate_transcripts.ts",
      cyrus: cyrusVersion,
      server: serverConfig(c),
      client: clientConfig(c),
      messages: exchange.messages.map((m) => {
        let text: string | undefined;
        try {
          text = decoder.decode(m.data);
        } catch {
          text = undefined;
        }
        return { from: m.from, base64: encodeBase64(m.data), ...(text ? { text } : {}) };
      }),
      outcome: { server: exchange.server, client: exchange.client },
      // The generator's "local" side is the client peer.
      wrapped: wrapped.map((r) => ({
        from: r.from === "saslkit" ? "client" : "server",
        plaintext: encodeBase64(r.plaintext),
        wrapped: encodeBase64(r.wrapped),
      })),
    };
  } finally {
    await client.close();
    await server.close();
  }
}

function check(c: CyrusCase, result: PeerResult, side: string): void {
  if (result.qop !== c.expectQop || result.cipher !== c.expectCipher) {
    throw new Error(
      `${c.name}: the ${side} agreed on ${result.qop}/${result.cipher}, ` +
        `not ${c.expectQop}/${c.expectCipher}`,
    );
  }
}

async function main(): Promise<void> {
  const build = buildCyrusPeer();
  if (!build.ok) throw new Error(`cannot build the Cyrus peer: ${build.reason}`);
  await Deno.mkdir(OUT_DIR, { recursive: true });
  const names = new Set<string>();
  for (const c of CYRUS_CASES) {
    const transcript = await record(build.command, build.cyrusVersion, c);
    await Deno.writeTextFile(
      new URL(`${c.name}.json`, OUT_DIR),
      JSON.stringify(transcript, null, 2) + "\n",
    );
    names.add(`${c.name}.json`);
    console.log(`wrote ${c.name}.json`);
  }
  for await (const entry of Deno.readDir(OUT_DIR)) {
    if (entry.isFile && entry.name.endsWith(".json") && !names.has(entry.name)) {
      await Deno.remove(new URL(entry.name, OUT_DIR));
      console.log(`removed stale ${entry.name}`);
    }
  }
}

if (import.meta.main) await main();
