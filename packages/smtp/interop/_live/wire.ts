// What saslkit really put on the wire: every write of a session, marked as inside or outside the
// SASL security layer, so that a test can check the framing and the encryption byte by byte
// rather than trust the session's own account of it.

import type { SmtpTransport, TranscriptEntry, TranscriptSink } from "../../mod.ts";
import { connectTcp } from "../../mod.ts";
import type { SmtpPeer } from "../servers.ts";

/** One `write` of the session, as the transport received it. */
export interface RecordedWrite {
  readonly bytes: Uint8Array;
  /** Whether the session had a security layer in force when it wrote this. */
  readonly layered: boolean;
}

/**
 * Records a session's transcript and raw writes. Give `sink` as the transcript and `connect` as
 * the transport factory. The session notes each command (with its `layered` flag) just before
 * writing it, and a message body right after its 354 reply, so a write is layered exactly when
 * the last transcript entry before it was.
 */
export class WireRecorder {
  readonly transcript: TranscriptEntry[] = [];
  readonly writes: RecordedWrite[] = [];
  readonly #peer: SmtpPeer;
  readonly #open: () => Promise<SmtpTransport>;

  /**
   * @param open Opens the transport to record; default plain TCP to the peer (no STARTTLS
   * certificate checks to configure). STARTTLS and channel bindings pass through.
   */
  constructor(peer: SmtpPeer, open?: () => Promise<SmtpTransport>) {
    this.#peer = peer;
    this.#open = open ?? (() => connectTcp({ host: this.#peer.host, port: this.#peer.port }));
  }

  readonly sink: TranscriptSink = (entry) => {
    this.transcript.push(entry);
  };

  readonly connect = async (): Promise<SmtpTransport> => {
    const inner = await this.#open();
    return {
      get secure() {
        return inner.secure;
      },
      ...(inner.startTls ? { startTls: (name: string) => inner.startTls!(name) } : {}),
      ...(inner.channelBindings ? { channelBindings: () => inner.channelBindings!() } : {}),
      read: () => inner.read(),
      write: (data: Uint8Array) => {
        this.writes.push({
          bytes: data.slice(),
          layered: this.transcript.at(-1)?.layered ?? false,
        });
        return inner.write(data);
      },
      close: () => inner.close(),
    };
  };

  /** The client's lines of the transcript, as text. */
  clientLines(): string[] {
    return this.transcript.filter((e) => e.direction === "C").map((e) => e.text);
  }

  /** Every layered write. */
  layeredWrites(): Uint8Array[] {
    return this.writes.filter((w) => w.layered).map((w) => w.bytes);
  }
}

/**
 * Splits bytes into RFC 4422 §3.7 frames (a 4-byte big-endian length, then that many bytes) and
 * returns the lengths; throws when the bytes are not exactly a sequence of frames.
 */
export function frameLengths(bytes: Uint8Array): number[] {
  const lengths: number[] = [];
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let offset = 0;
  while (offset < bytes.length) {
    if (bytes.length - offset < 4) throw new Error(`a truncated frame header at ${offset}`);
    const length = view.getUint32(offset);
    offset += 4 + length;
    if (offset > bytes.length) throw new Error(`a frame of ${length} bytes runs past the write`);
    lengths.push(length);
  }
  return lengths;
}

/** Whether `needle` occurs in `haystack`, as bytes. */
export function containsBytes(haystack: Uint8Array, needle: string): boolean {
  const pattern = new TextEncoder().encode(needle);
  outer: for (let i = 0; i + pattern.length <= haystack.length; i++) {
    for (let j = 0; j < pattern.length; j++) {
      if (haystack[i + j] !== pattern[j]) continue outer;
    }
    return true;
  }
  return false;
}
