/**
 * SMTP replies (RFC 5321 §4.2) with their enhanced status codes (RFC 3463).
 *
 * @module
 */

import { SmtpError } from "./error.ts";
import { escapeControls } from "./_bytes.ts";
import type { SmtpReply } from "./smtp_reply.ts";

export type { SmtpReply } from "./smtp_reply.ts";

const LINE = /^(\d{3})([ -]|$)(.*)$/;
const ENHANCED = /^([245]\.\d{1,3}\.\d{1,3})(?: |$)/;

/**
 * Assembles replies from lines, enforcing the grammar: every line of a reply has the same
 * code, `-` continues and ` ` (or nothing) ends a reply.
 *
 * @example
 * ```ts
 * import { ReplyParser } from "@saslkit/smtp/low-level";
 * import assert from "node:assert/strict";
 *
 * const parser = new ReplyParser();
 * assert.equal(parser.push("250-mail.example.com"), undefined);
 * const reply = parser.push("250 AUTH PLAIN")!;
 * assert.equal(reply.code, 250);
 * assert.deepEqual(reply.lines, ["mail.example.com", "AUTH PLAIN"]);
 * assert.equal(new ReplyParser().push("535 5.7.8 Bad credentials")!.enhancedCode, "5.7.8");
 * ```
 */
export class ReplyParser {
  #code = 0;
  #lines: string[] = [];
  readonly #maxLines: number;

  /**
   * Creates a parser.
   *
   * @param maxLines The most lines one reply may have; a server sending more is broken.
   */
  constructor(maxLines = 256) {
    this.#maxLines = maxLines;
  }

  /**
   * Adds one line (without CRLF) and returns the reply it completes, if any.
   *
   * @throws {SmtpError} `protocol` on a line that is not a reply line.
   */
  push(line: string): SmtpReply | undefined {
    const match = LINE.exec(line);
    if (!match) {
      throw new SmtpError("protocol", `malformed reply line: ${JSON.stringify(line.slice(0, 80))}`);
    }
    const code = Number(match[1]);
    if (code < 200 || code > 599) {
      throw new SmtpError("protocol", `reply code ${code} is out of range`);
    }
    if (this.#lines.length > 0 && code !== this.#code) {
      throw new SmtpError("protocol", `reply code changed from ${this.#code} to ${code} mid-reply`);
    }
    this.#code = code;
    this.#lines.push(match[3]);
    if (this.#lines.length > this.#maxLines) {
      throw new SmtpError("protocol", `reply has more than ${this.#maxLines} lines`);
    }
    if (match[2] === "-") return undefined;
    const lines = this.#lines;
    this.#lines = [];
    const enhanced = ENHANCED.exec(lines[0]);
    // RFC 3463: an enhanced code's class matches the reply's; anything else is ordinary text.
    const sameClass = (l: string) => ENHANCED.exec(l)?.[1][0] === String(code)[0];
    return {
      code,
      enhancedCode: enhanced && sameClass(lines[0]) ? enhanced[1] : undefined,
      lines: lines.map((l) => (sameClass(l) ? l.replace(ENHANCED, "") : l)),
    };
  }
}

/**
 * The reply as one line of text, as a person would read it: `535 5.7.8 Authentication failed`.
 *
 * @example
 * ```ts
 * import { formatReply } from "@saslkit/smtp/low-level";
 * import assert from "node:assert/strict";
 *
 * assert.equal(formatReply({ code: 454, enhancedCode: "4.7.0", lines: ["Try later"] }),
 *   "454 4.7.0 Try later");
 * ```
 */
export function formatReply(reply: SmtpReply): string {
  // Control characters from the server are escaped, so a reply cannot forge log lines.
  const text = escapeControls(reply.lines.join(" / "));
  return [String(reply.code), reply.enhancedCode, text].filter((p) => p).join(" ");
}
