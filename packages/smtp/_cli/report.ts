// The pieces of the command line's output that probe and send share: replies, capabilities
// and errors as JSON values (absent things are null, so the shape never changes) and as text.

import type { SmtpCapabilities } from "../ehlo.ts";
import { SmtpError } from "../error.ts";
import { formatReply, type SmtpReply } from "../reply.ts";
import type { ConnectSettings, NumberedEntry, TranscriptRecorder } from "./connection.ts";

/** A reply in the JSON output. */
export interface ReplyJson {
  readonly code: number;
  readonly enhancedCode: string | null;
  readonly text: string | null;
}

/** An error in the JSON output. */
export interface ErrorJson {
  /** An `SmtpErrorCode`, or `error` for anything else. */
  readonly code: string;
  readonly message: string;
}

/** EHLO capabilities in the JSON output. */
export interface EhloJson {
  readonly domain: string;
  readonly auth: readonly string[];
  readonly startTls: boolean;
  readonly pipelining: boolean;
  readonly smtpUtf8: boolean;
  readonly eightBitMime: boolean;
  readonly enhancedStatusCodes: boolean;
  readonly size: number | null;
  readonly extensions: Readonly<Record<string, string>>;
}

export function replyJson(reply: SmtpReply): ReplyJson {
  const text = reply.lines.join(" / ");
  return { code: reply.code, enhancedCode: reply.enhancedCode ?? null, text: text || null };
}

/**
 * A server line of the session's transcript back as a reply: the session writes them with
 * `formatReply`, and 334 challenges decoded, which the reply list leaves to the transcript.
 */
export function replyFromTranscript(text: string): ReplyJson | undefined {
  const match = /^(\d{3})(?: ([245]\.\d{1,3}\.\d{1,3}))?(?: (.*))?$/.exec(text);
  if (!match) return undefined;
  const code = Number(match[1]);
  if (code === 334) return { code, enhancedCode: null, text: null };
  return { code, enhancedCode: match[2] ?? null, text: match[3] || null };
}

export function formatReplyJson(reply: ReplyJson): string {
  return [String(reply.code), reply.enhancedCode, reply.text].filter((p) => p).join(" ");
}

export function ehloJson(capabilities: SmtpCapabilities): EhloJson {
  return {
    domain: capabilities.domain,
    auth: capabilities.auth,
    startTls: capabilities.startTls,
    pipelining: capabilities.pipelining,
    smtpUtf8: capabilities.smtpUtf8,
    eightBitMime: capabilities.eightBitMime,
    enhancedStatusCodes: capabilities.enhancedStatusCodes,
    size: capabilities.size ?? null,
    extensions: Object.fromEntries(capabilities.extensions),
  };
}

export function errorJson(error: unknown): ErrorJson {
  if (error instanceof SmtpError) return { code: error.code, message: error.message };
  return { code: "error", message: error instanceof Error ? error.message : String(error) };
}

/** The capabilities as indented lines of text. */
export function describeEhlo(capabilities: SmtpCapabilities, indent = "  "): string[] {
  const lines = [
    `${indent}AUTH: ${capabilities.auth.length ? capabilities.auth.join(" ") : "(not offered)"}`,
  ];
  const others = [...capabilities.extensions]
    .filter(([keyword]) => keyword !== "AUTH")
    .map(([keyword, params]) => (params ? `${keyword} ${params}` : keyword));
  if (others.length) lines.push(`${indent}Extensions: ${others.join(", ")}`);
  return lines;
}

export { formatReply };

/**
 * The SASL protection in force, as text output always states it: `none`, `auth-int`, or
 * `auth-conf rc4`.
 */
export function protectionText(qop: string | null | undefined, cipher?: string | null): string {
  if (!qop || qop === "auth") return "none";
  return cipher ? `${qop} ${cipher}` : qop;
}

/** The TLS in force: `none`, or `TLSv1.3 (STARTTLS)`, `TLSv1.2 (implicit)`. */
export function tlsText(
  state: "implicit" | "starttls" | "none" | null,
  version: string | null | undefined,
): string {
  if (!state || state === "none") return "none";
  return `${version ?? "TLS"} (${state === "implicit" ? "implicit TLS" : "STARTTLS"})`;
}

/** The shape every report has: an error slot and, with --verbose, the transcript. */
export interface ReportBase {
  error: ErrorJson | null;
  transcript?: readonly NumberedEntry[];
}

/**
 * The one output path of probe and send: text lines on standard output, failures on standard
 * error, or, with --json, nothing until one document at the end.
 */
export class Reporter<R extends ReportBase> {
  readonly report: R;
  readonly #json: boolean;
  readonly #verbose: boolean;
  readonly #recorder: TranscriptRecorder;
  readonly #out: (text: string) => void;
  readonly #err: (text: string) => void;

  constructor(
    settings: ConnectSettings,
    report: R,
    out: (text: string) => void,
    err: (text: string) => void,
  ) {
    this.report = report;
    this.#json = settings.options.json;
    this.#verbose = settings.options.verbose;
    this.#recorder = settings.recorder;
    this.#out = out;
    this.#err = err;
  }

  /** A line of the text report (nothing with --json). */
  line(text: string): void {
    if (!this.#json) this.#out(`${text}\n`);
  }

  /** Records the error in the report and says it on standard error (text mode). */
  fail(error: unknown): void {
    this.report.error = errorJson(error);
    this.say(this.report.error.message);
  }

  /** A failure line on standard error that is not the report's error (text mode). */
  say(message: string): void {
    if (!this.#json) this.#err(`saslkit-smtp: ${message}\n`);
  }

  /** Writes the JSON document (with --json) and returns the status. */
  finish(status: number): number {
    if (this.#json) {
      if (this.#verbose) this.report.transcript = this.#recorder.entries;
      this.#out(`${JSON.stringify(this.report, null, 2)}\n`);
    }
    return status;
  }
}
