// Opening connections the way the command line asked, and keeping the transcript of all of
// them, numbered, for --verbose.

import type { SmtpCapabilities } from "../ehlo.ts";
import { SmtpError } from "../error.ts";
import type { SmtpSession } from "../session.ts";
import { openGreeted } from "../_open.ts";
import type { TranscriptEntry, TranscriptSink } from "../transcript.ts";
import { connectTcp, type SmtpTransport } from "../transport.ts";
import type { MechanismOptions, Qop } from "@saslkit/sasl";
import type { CliOptions } from "./args.ts";

// --qop names the strongest protection to accept; DIGEST-MD5 takes the list of acceptable ones.
const UP_TO: Record<Qop, readonly Qop[]> = {
  "auth": ["auth"],
  "auth-int": ["auth-int", "auth"],
  "auth-conf": ["auth-conf", "auth-int", "auth"],
};

const RANK: Record<Qop, number> = { "auth": 0, "auth-int": 1, "auth-conf": 2 };

/** Whether `qop` is below what --require-qop asks for. */
export function belowRequired(options: CliOptions, qop: Qop): boolean {
  return RANK[qop] < RANK[options.requireQop ?? "auth"];
}

/**
 * The per-mechanism settings the command line asked for: DIGEST-MD5 accepts the levels from
 * --require-qop up to --qop.
 */
export function mechanismOptions(options: CliOptions): MechanismOptions {
  const qop = UP_TO[options.qop ?? "auth"].filter((q) => !belowRequired(options, q));
  return { digestMd5: { qop, ciphers: options.ciphers } };
}

/** One transcript line, with the connection it belongs to (counting from 1). */
export interface NumberedEntry extends TranscriptEntry {
  readonly connection: number;
}

/** Collects the transcript of every connection, and shows it live when asked. */
export class TranscriptRecorder {
  readonly entries: NumberedEntry[] = [];
  #connection = 0;
  readonly #live?: (line: string) => void;

  /** @param live Receives each line as it happens (for --verbose without --json). */
  constructor(live?: (line: string) => void) {
    this.#live = live;
  }

  /** Starts the transcript of the next connection and returns its number. */
  begin(label?: string): number {
    this.#connection++;
    this.#live?.(`--- connection ${this.#connection}${label ? `: ${label}` : ""} ---`);
    return this.#connection;
  }

  /** The sink to give a session. */
  readonly sink: TranscriptSink = (entry) => {
    this.entries.push({ connection: this.#connection, ...entry });
    this.#live?.(`${entry.direction}${entry.layered ? " [layer]" : ""}: ${entry.text}`);
  };
}

/** How the command line connects: everything but the transcript. */
export interface ConnectSettings {
  readonly options: CliOptions;
  /** Extra trusted CA certificates, read from --ca. */
  readonly ca?: string;
  readonly recorder: TranscriptRecorder;
}

/** Opens the byte stream of a new connection (implicit TLS with --tls). */
export function connect(settings: ConnectSettings): Promise<SmtpTransport> {
  const { options, ca } = settings;
  return connectTcp({
    host: options.host,
    port: options.port,
    security: options.security === "tls" ? "tls" : "none",
    servername: options.servername,
    rejectUnauthorized: !options.insecure,
    ca,
    timeoutMs: options.timeoutMs,
  });
}

/** A session ready for AUTH: greeted, EHLO said, STARTTLS done where asked. */
export interface OpenedSession {
  readonly session: SmtpSession;
  readonly capabilities: SmtpCapabilities;
  /** The capabilities before STARTTLS, when STARTTLS was used. */
  readonly beforeStartTls?: SmtpCapabilities;
  /** Its number in the transcript. */
  readonly connection: number;
}

/**
 * Connects, reads the greeting, says EHLO and does STARTTLS as the options say, as the
 * policy does for its own connections.
 */
export async function openSession(
  settings: ConnectSettings,
  label?: string,
): Promise<OpenedSession> {
  const { options, recorder } = settings;
  const connection = recorder.begin(label);
  const session = await openGreeted(
    await connect(settings),
    { timeoutMs: options.timeoutMs, transcript: recorder.sink },
    { host: options.host, port: options.port },
  );
  try {
    let capabilities = await session.ehlo(options.ehloName);
    let beforeStartTls: SmtpCapabilities | undefined;
    if (!session.secure && options.security !== "none" && options.security !== "tls") {
      if (capabilities.startTls) {
        beforeStartTls = capabilities;
        await session.startTls(options.servername);
        capabilities = await session.ehlo(options.ehloName);
      } else if (options.security === "starttls") {
        throw new SmtpError(
          "tls",
          "the server does not offer STARTTLS, and --starttls requires it",
        );
      }
    }
    return { session, capabilities, beforeStartTls, connection };
  } catch (error) {
    session.close();
    throw error;
  }
}

/** How the connection is protected, for the report. */
export function tlsState(options: CliOptions, secure: boolean): "implicit" | "starttls" | "none" {
  if (!secure) return "none";
  return options.security === "tls" ? "implicit" : "starttls";
}
