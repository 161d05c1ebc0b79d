// `saslkit-smtp send`: the fallback policy as an application uses it, then one message.

import { encodeBase64, type PasswordCredentials, type Qop } from "@saslkit/sasl";
import { type AuthAttempt, authenticate, SmtpAuthError } from "../policy.ts";
import type { SmtpSession } from "../session.ts";
import type { CliOptions } from "./args.ts";
import {
  connect,
  type ConnectSettings,
  mechanismOptions,
  type NumberedEntry,
  openSession,
  tlsState,
} from "./connection.ts";
import { type ErrorJson, errorJson, formatReplyJson, type ReplyJson, replyJson } from "./report.ts";
import { SmtpError } from "../error.ts";

/** One attempt of the policy in the JSON output. */
export interface AttemptJson {
  readonly mechanism: string;
  readonly result: AuthAttempt["result"];
  readonly reply: ReplyJson | null;
  readonly detail: string | null;
  readonly qop: Qop | null;
  readonly cipher: string | null;
}

/** The JSON output of send. */
export interface SendJson {
  readonly host: string;
  readonly port: number;
  readonly tls: "implicit" | "starttls" | "none" | null;
  /** The mechanism that authenticated; null without --user or when none did. */
  readonly mechanism: string | null;
  readonly qop: Qop | null;
  readonly cipher: string | null;
  readonly attempts: readonly AttemptJson[];
  readonly accepted: boolean;
  /** The server's answer to the message (or the reply that refused it). */
  readonly reply: ReplyJson | null;
  readonly error: ErrorJson | null;
  transcript?: readonly NumberedEntry[];
}

function attemptJson(attempt: AuthAttempt): AttemptJson {
  return {
    mechanism: attempt.mechanism,
    result: attempt.result,
    reply: attempt.reply ? replyJson(attempt.reply) : null,
    detail: attempt.detail ?? null,
    qop: attempt.qop ?? null,
    cipher: attempt.cipher ?? null,
  };
}

// RFC 2047 encoded-words of at most 75 characters, split between characters, never inside one.
function encodeHeaderText(text: string): string {
  if (/^[\x20-\x7e]*$/.test(text)) return text;
  const encoder = new TextEncoder();
  const words: string[] = [];
  let chunk = "";
  for (const char of text) {
    if (encoder.encode(chunk + char).length > 45) {
      words.push(chunk);
      chunk = "";
    }
    chunk += char;
  }
  if (chunk) words.push(chunk);
  return words.map((w) => `=?UTF-8?B?${encodeBase64(encoder.encode(w))}?=`).join("\r\n ");
}

/**
 * The message to send: standard input as it is, or, with --subject, standard input as the
 * body under a header block made from the options.
 */
export function buildMessage(
  options: Pick<CliOptions, "from" | "to" | "subject" | "ehloName">,
  body: string,
  now: Date = new Date(),
): string {
  if (options.subject === undefined) return body;
  const from = options.from ?? "";
  const domain = from.includes("@") ? from.slice(from.lastIndexOf("@") + 1) : options.ehloName;
  const headers = [
    `From: ${from || "<>"}`,
    `To: ${options.to.join(", ")}`,
    `Subject: ${encodeHeaderText(options.subject)}`,
    `Date: ${now.toUTCString().replace(/GMT$/, "+0000")}`,
    `Message-ID: <${crypto.randomUUID()}@${domain}>`,
    "MIME-Version: 1.0",
    "Content-Type: text/plain; charset=utf-8",
    `Content-Transfer-Encoding: ${/^[\p{ASCII}]*$/u.test(body) ? "7bit" : "8bit"}`,
  ];
  return `${headers.join("\r\n")}\r\n\r\n${body}`;
}

function describeAttempt(attempt: AttemptJson): string {
  const protection = attempt.qop && attempt.qop !== "auth"
    ? ` (qop ${attempt.qop}${attempt.cipher ? `, cipher ${attempt.cipher}` : ""})`
    : "";
  const reply = attempt.reply ? `: ${formatReplyJson(attempt.reply)}` : "";
  const detail = !attempt.reply && attempt.result !== "authenticated" && attempt.detail
    ? `: ${attempt.detail}`
    : "";
  return `${attempt.mechanism}: ${attempt.result}${protection}${reply}${detail}`;
}

/** Runs send; writes the report to `out` and returns the exit status. */
export async function runSend(
  settings: ConnectSettings,
  credentials: PasswordCredentials | undefined,
  data: string,
  out: (text: string) => void,
  err: (text: string) => void,
): Promise<number> {
  const { options, recorder } = settings;
  const human = options.json ? () => {} : (line: string) => out(`${line}\n`);
  const fail = options.json ? () => {} : (line: string) => err(`saslkit-smtp: ${line}\n`);
  const report: { -readonly [K in keyof SendJson]: SendJson[K] } = {
    host: options.host,
    port: options.port,
    tls: null,
    mechanism: null,
    qop: null,
    cipher: null,
    attempts: [],
    accepted: false,
    reply: null,
    error: null,
  };
  const finish = (status: number): number => {
    if (options.json) {
      if (options.verbose) report.transcript = recorder.entries;
      out(`${JSON.stringify(report, null, 2)}\n`);
    }
    return status;
  };
  const showAttempts = () => {
    if (report.attempts.length === 0) return;
    human("Attempts:");
    for (const attempt of report.attempts) human(`  ${describeAttempt(attempt)}`);
  };

  let session: SmtpSession;
  try {
    if (credentials) {
      const result = await authenticate({
        host: options.servername,
        port: options.port,
        security: options.security,
        ehloName: options.ehloName,
        credentials,
        mechanisms: options.mechanisms,
        ...mechanismOptions(options),
        allowCleartext: options.allowCleartext,
        timeoutMs: options.timeoutMs,
        transcript: recorder.sink,
        connect: () => {
          recorder.begin();
          return connect(settings);
        },
      });
      session = result.session;
      report.mechanism = result.mechanism;
      report.qop = result.outcome.qop;
      report.cipher = result.outcome.cipher ?? null;
      report.attempts = result.attempts.map(attemptJson);
    } else {
      ({ session } = await openSession(settings));
    }
  } catch (error) {
    if (error instanceof SmtpAuthError) report.attempts = error.attempts.map(attemptJson);
    report.error = errorJson(error);
    showAttempts();
    fail(report.error.message);
    return finish(1);
  }
  report.tls = tlsState(options, session.secure);
  showAttempts();
  if (report.mechanism) {
    const protection = report.qop && report.qop !== "auth"
      ? `, qop ${report.qop}${report.cipher ? `, cipher ${report.cipher}` : ""}`
      : "";
    human(`Authenticated as ${credentials!.username} with ${report.mechanism}${protection}`);
  }
  human(
    `TLS: ${report.tls}${
      report.tls !== "none" && options.insecure ? " (certificate NOT checked)" : ""
    }`,
  );
  try {
    const reply = await session.sendMail({ from: options.from!, to: options.to, data });
    report.accepted = true;
    report.reply = replyJson(reply);
    human(`Accepted: ${formatReplyJson(report.reply)}`);
  } catch (error) {
    report.error = errorJson(error);
    if (error instanceof SmtpError && error.reply) report.reply = replyJson(error.reply);
    fail(report.error.message);
  } finally {
    await session.quit();
  }
  return finish(report.accepted ? 0 : 1);
}
