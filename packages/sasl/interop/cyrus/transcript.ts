/**
 * The checked-in record of one Cyrus-to-Cyrus exchange (`packages/sasl/testdata/cyrus/*.json`),
 * written by `generate_transcripts.ts` and replayed by `cyrus_test.ts`.
 *
 * @module
 */

import { decodeBase64 } from "../../base64.ts";
import type { PeerConfig, PeerResult } from "../peer.ts";

/** One SASL message. */
export interface TranscriptMessage {
  /** Who sent it. */
  readonly from: "client" | "server";
  /** The message. */
  readonly base64: string;
  /** The message as text, for readers, when it is valid UTF-8. */
  readonly text?: string;
}

/** One security-layer buffer. */
export interface TranscriptWrapped {
  /** Who wrapped it; the other side unwrapped it. */
  readonly from: "client" | "server";
  /** The plaintext, base64. */
  readonly plaintext: string;
  /** The buffer without its 4-byte length, base64. */
  readonly wrapped: string;
}

/** A whole transcript. */
export interface Transcript {
  /** The case name, also the file name. */
  readonly name: string;
  /** What the case shows. */
  readonly description: string;
  /** The script that wrote the file. */
  readonly generatedBy: string;
  /** The libsasl2 package version that produced it. */
  readonly cyrus: string;
  /** The Cyrus server peer's config. */
  readonly server: PeerConfig;
  /** The Cyrus client peer's config. */
  readonly client: PeerConfig;
  /** Every SASL message, in order. */
  readonly messages: readonly TranscriptMessage[];
  /** What each side reported. */
  readonly outcome: { readonly server: PeerResult; readonly client: PeerResult };
  /** Wrapped buffers in the order they were made, alternating directions. */
  readonly wrapped: readonly TranscriptWrapped[];
}

/**
 * Parses the directives of a Cyrus challenge or response. Enough for what Cyrus writes:
 * `name=token` or `name="quoted"` with backslash escapes, comma-separated; values are decoded as
 * UTF-8, as Cyrus sends them.
 *
 * @example
 * ```ts ignore
 * directives(bytes).get("nonce");
 * ```
 */
export function directives(message: Uint8Array): Map<string, string> {
  const text = new TextDecoder().decode(message);
  const out = new Map<string, string>();
  const re = /\s*([A-Za-z-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^,]*))\s*(?:,|$)/gy;
  let match: RegExpExecArray | null;
  while (re.lastIndex < text.length && (match = re.exec(text)) !== null) {
    const value = match[2] !== undefined ? match[2].replace(/\\(.)/g, "$1") : match[3].trim();
    out.set(match[1].toLowerCase(), value);
  }
  return out;
}

/**
 * Reads every transcript in a folder, sorted by name.
 *
 * @example
 * ```ts ignore
 * const transcripts = await loadTranscripts(new URL("../testdata/cyrus/", import.meta.url));
 * ```
 */
export async function loadTranscripts(dir: URL): Promise<Transcript[]> {
  const out: Transcript[] = [];
  for await (const entry of Deno.readDir(dir)) {
    if (!entry.isFile || !entry.name.endsWith(".json")) continue;
    out.push(JSON.parse(await Deno.readTextFile(new URL(entry.name, dir))) as Transcript);
  }
  return out.sort((a, b) => a.name.localeCompare(b.name));
}

/**
 * Decodes a base64 field of a transcript.
 *
 * @example
 * ```ts ignore
 * const bytes = bytesOf(transcript.messages[0].base64);
 * ```
 */
export function bytesOf(base64: string): Uint8Array {
  return decodeBase64(base64);
}
