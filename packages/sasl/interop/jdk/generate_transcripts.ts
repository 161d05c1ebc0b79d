/**
 * Regenerates `packages/sasl/testdata/jdk/*.json`: runs the JDK's DIGEST-MD5 client against
 * the JDK's server through the peer driver for every case of `cases.ts`, then sends wrapped
 * buffers both ways. Nonces differ on every run; the tests inject the recorded ones.
 *
 * Run: `deno run -A packages/sasl/interop/jdk/generate_transcripts.ts [name-filter]`
 *
 * @module
 */

import { mkdirSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import process from "node:process";
import { encodeBase64 } from "../../base64.ts";
import {
  defaultPlaintexts,
  type ExchangeMessage,
  exchangeWrapped,
  peerWrapSide,
  runPeers,
} from "../peer.ts";
import { CASES, clientConfig, type InteropCase, serverConfig } from "./cases.ts";
import { jdkPeer, startJdkPeer } from "./jdk_peer.ts";
import {
  type Transcript,
  TRANSCRIPT_DIR,
  TRANSCRIPT_FORMAT,
  type TranscriptMessage,
} from "./transcript.ts";

function decodeText(bytes: Uint8Array, utf8: boolean): string {
  return utf8 ? new TextDecoder().decode(bytes) : String.fromCharCode(...bytes);
}

function directive(text: string, name: string): string | undefined {
  const match = new RegExp(`(?:^|,)\\s*${name}\\s*=\\s*(?:"((?:[^"\\\\]|\\\\.)*)"|([^,]*))`)
    .exec(text);
  if (!match) return undefined;
  return match[1] !== undefined ? match[1].replace(/\\(.)/g, "$1") : match[2].trim();
}

function required(text: string, name: string): string {
  const value = directive(text, name);
  if (value === undefined) throw new Error(`no ${name} directive in ${text}`);
  return value;
}

/** Runs one case JDK ↔ JDK and returns its transcript. */
export async function generate(c: InteropCase, jdkVersion: string): Promise<Transcript> {
  const server = await startJdkPeer(serverConfig(c));
  const client = await startJdkPeer(clientConfig(c));
  try {
    const result = await runPeers(client, server);
    const utf8 = c.utf8 !== false;
    const messages: TranscriptMessage[] = result.messages.map((m: ExchangeMessage) => ({
      from: m.from,
      base64: encodeBase64(m.data),
      text: decodeText(m.data, utf8),
    }));
    const challenge = messages[0].text;
    const response = messages[1].text;
    const final = messages[2].text;
    const wrapped = [];
    if (c.qop !== "auth") {
      // Near-maxbuf buffers only with the cases' small maxbufs: 64 KiB ones would bloat the
      // checked-in data, and the live tests cover them.
      const limit = (size: number) => size <= 4096 ? size : undefined;
      const records = await exchangeWrapped(peerWrapSide(client), server, {
        plaintexts: defaultPlaintexts().slice(0, 6),
        largeToPeer: limit(Number(result.client.rawSendSize)),
        largeFromPeer: limit(Number(result.server.rawSendSize)),
      });
      for (const r of records) {
        wrapped.push({
          from: r.from === "saslkit" ? "client" as const : "server" as const,
          plaintext: encodeBase64(r.plaintext),
          wrapped: encodeBase64(r.wrapped),
        });
      }
    }
    const charset = directive(challenge, "charset");
    return {
      format: TRANSCRIPT_FORMAT,
      name: c.name,
      jdk: jdkVersion,
      case: c,
      config: { client: clientConfig(c), server: serverConfig(c) },
      messages,
      values: {
        nonce: required(challenge, "nonce"),
        cnonce: required(response, "cnonce"),
        realm: required(response, "realm"),
        response: required(response, "response"),
        rspauth: required(final, "rspauth"),
        ...(charset !== undefined ? { charset } : {}),
      },
      outcome: { client: result.client, server: result.server },
      wrapped,
    };
  } finally {
    await client.close();
    await server.close();
  }
}

if (import.meta.main) {
  const jdk = jdkPeer();
  if (!jdk.ok) {
    console.error(`cannot generate: ${jdk.reason}`);
    process.exit(1);
  }
  const filter = process.argv[2];
  mkdirSync(TRANSCRIPT_DIR, { recursive: true });
  if (!filter) {
    for (const file of readdirSync(TRANSCRIPT_DIR)) {
      if (file.endsWith(".json")) rmSync(join(TRANSCRIPT_DIR, file));
    }
  }
  for (const c of CASES) {
    if (filter && !c.name.includes(filter)) continue;
    const transcript = await generate(c, jdk.version);
    const file = join(TRANSCRIPT_DIR, `${c.name}.json`);
    writeFileSync(file, JSON.stringify(transcript, null, 2) + "\n");
    console.log(`wrote ${file} (${transcript.wrapped.length} wrapped buffers)`);
  }
}
