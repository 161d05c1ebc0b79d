// The pieces of the command line's output that probe and send share: replies, capabilities
// and errors as JSON values (absent things are null, so the shape never changes) and as text.

import type { SmtpCapabilities } from "../ehlo.ts";
import { SmtpError } from "../error.ts";
import { formatReply, type SmtpReply } from "../reply.ts";

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
