/**
 * The format of the checked-in JDK transcripts (`packages/sasl/testdata/jdk/*.json`): one
 * JDK-client ↔ JDK-server DIGEST-MD5 exchange, then wrapped buffers both ways.
 *
 * All bytes are base64; `text` fields are the same bytes decoded as UTF-8 (or ISO-8859-1 when
 * the exchange ran without `charset=utf-8`), for readers only.
 *
 * @module
 */

import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { PeerConfig, PeerResult } from "../peer.ts";
import type { InteropCase } from "./cases.ts";

/** Format version; bump on incompatible changes. */
export const TRANSCRIPT_FORMAT = 1;

/** Where the transcripts live. */
export const TRANSCRIPT_DIR: string = fileURLToPath(
  new URL("../../testdata/jdk/", import.meta.url),
);

/** One SASL message. */
export interface TranscriptMessage {
  readonly from: "client" | "server";
  readonly base64: string;
  readonly text: string;
}

/** One security-layer buffer (without the 4-byte length). */
export interface TranscriptWrapped {
  /** The side that wrapped it; the other side unwrapped it to `plaintext`. */
  readonly from: "client" | "server";
  readonly plaintext: string;
  readonly wrapped: string;
}

/** A whole transcript. */
export interface Transcript {
  readonly format: number;
  readonly name: string;
  /** `javac -version` of the generating JDK. */
  readonly jdk: string;
  readonly case: InteropCase;
  readonly config: { readonly client: PeerConfig; readonly server: PeerConfig };
  /** Every SASL message in order, starting with the server's challenge. */
  readonly messages: readonly TranscriptMessage[];
  /** Values pulled out of the messages, for convenience. */
  readonly values: {
    readonly nonce: string;
    readonly cnonce: string;
    readonly realm: string;
    readonly response: string;
    readonly rspauth: string;
    readonly charset?: string;
  };
  readonly outcome: { readonly client: PeerResult; readonly server: PeerResult };
  /** Wrapped buffers in the order they were made; each direction has its own sequence. */
  readonly wrapped: readonly TranscriptWrapped[];
}

/**
 * Reads every transcript, sorted by name.
 *
 * @example
 * ```ts ignore
 * for (const t of readTranscripts()) console.log(t.name);
 * ```
 */
export function readTranscripts(dir: string = TRANSCRIPT_DIR): Transcript[] {
  return readdirSync(dir)
    .filter((file) => file.endsWith(".json"))
    .sort()
    .map((file) => JSON.parse(readFileSync(join(dir, file), "utf8")) as Transcript);
}
