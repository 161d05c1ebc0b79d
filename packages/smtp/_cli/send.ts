// `saslkit-smtp send`: the fallback policy as an application uses it, then one message.

import type { PasswordCredentials, Qop } from "@saslkit/sasl";
import { type AuthAttempt, authenticate, SmtpAuthError } from "../policy.ts";
import type { SmtpSession } from "../session.ts";
import { buildMessage } from "../message.ts";
import { SmtpSendError } from "../mail.ts";
import type { CliOptions } from "./args.ts";
import {
  connect,
  type ConnectSettings,
  mechanismOptions,
  type NumberedEntry,
  openSession,
  tlsState,
} from "./connection.ts";
import {
  type ErrorJson,
  formatReplyJson,
  protectionText,
  type ReplyJson,
  replyJson,
  Reporter,
  tlsText,
} from "./report.ts";
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

/** A refused recipient in the JSON output. */
export interface RejectedJson {
  readonly address: string;
  readonly reply: ReplyJson;
}

/** The JSON output of send. */
export interface SendJson {
  readonly host: string;
  readonly port: number;
  readonly tls: "implicit" | "starttls" | "none" | null;
  /** The TLS protocol version (`TLSv1.3`), when TLS is in force and the runtime tells. */
  readonly tlsVersion: string | null;
  /** The mechanism that authenticated; null without --user or when none did. */
  readonly mechanism: string | null;
  readonly qop: Qop | null;
  readonly cipher: string | null;
  /** The SASL protection in force: `none`, `auth-int`, `auth-conf rc4`. */
  readonly protection: string | null;
  readonly attempts: readonly AttemptJson[];
  readonly accepted: boolean;
  /** The recipients the server accepted, and those it refused. */
  readonly acceptedRecipients: readonly string[];
  readonly rejectedRecipients: readonly RejectedJson[];
  /** The queue id from the server's final reply, when it gives one. */
  readonly queueId: string | null;
  /** The server's answer to the message (or the reply that refused it). */
  readonly reply: ReplyJson | null;
  error: ErrorJson | null;
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

/**
 * The message to send: standard input as it is, or, with --subject, standard input as the
 * body under headers made by the exported `buildMessage` (From, To, Subject, Date,
 * Message-ID).
 *
 * @throws {SmtpError} `invalid-argument` from the builder.
 */
export function messageFromInput(
  options: Pick<CliOptions, "from" | "to" | "subject">,
  body: string,
  now: Date = new Date(),
): string {
  if (options.subject === undefined) return body;
  return buildMessage({
    from: options.from ?? "",
    to: options.to,
    subject: options.subject,
    text: body,
    date: now,
  });
}

function describeAttempt(attempt: AttemptJson): string {
  const protection = attempt.qop
    ? ` (protection ${protectionText(attempt.qop, attempt.cipher)})`
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
  const reporter = new Reporter<SendJson>(
    settings,
    {
      host: options.host,
      port: options.port,
      tls: null,
      tlsVersion: null,
      mechanism: null,
      qop: null,
      cipher: null,
      protection: null,
      attempts: [],
      accepted: false,
      acceptedRecipients: [],
      rejectedRecipients: [],
      queueId: null,
      reply: null,
      error: null,
    },
    out,
    err,
  );
  const report = reporter.report as { -readonly [K in keyof SendJson]: SendJson[K] };
  const showAttempts = () => {
    if (report.attempts.length === 0) return;
    reporter.line("Attempts:");
    for (const attempt of report.attempts) reporter.line(`  ${describeAttempt(attempt)}`);
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
        minQop: options.requireQop,
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
    showAttempts();
    reporter.fail(error);
    return reporter.finish(1);
  }
  report.tls = tlsState(options, session.secure);
  report.tlsVersion = session.transport.tlsVersion?.() ?? null;
  report.protection = protectionText(report.qop, report.cipher);
  showAttempts();
  if (report.mechanism) {
    reporter.line(`Authenticated as ${credentials!.username} with ${report.mechanism}`);
  }
  reporter.line(
    `Protection: TLS ${tlsText(report.tls, report.tlsVersion)}${
      report.tls !== "none" && options.insecure ? " (certificate NOT checked)" : ""
    }; SASL layer ${report.mechanism ? report.protection : "none (not authenticated)"}`,
  );
  if (report.mechanism && options.qop && options.qop !== "auth" && report.qop === "auth") {
    // --qop allows a layer; it does not demand one (that is --require-qop). Say so.
    reporter.say(
      `note: --qop ${options.qop} allowed a security layer, but ${report.mechanism} ` +
        "negotiated none (the server did not offer one); --require-qop makes that a failure",
    );
  }
  try {
    const sent = await session.sendMail({ from: options.from!, to: options.to, data });
    report.accepted = true;
    report.reply = replyJson(sent.reply);
    report.acceptedRecipients = sent.accepted;
    report.rejectedRecipients = sent.rejected.map((r) => ({
      address: r.address,
      reply: replyJson(r.reply),
    }));
    report.queueId = sent.queueId ?? null;
    for (const rejected of report.rejectedRecipients) {
      reporter.line(`Refused: <${rejected.address}>: ${formatReplyJson(rejected.reply)}`);
    }
    reporter.line(
      `Accepted: ${formatReplyJson(report.reply)}` +
        (sent.queueId ? ` (queue id ${sent.queueId})` : ""),
    );
  } catch (error) {
    if (error instanceof SmtpSendError) {
      report.acceptedRecipients = error.accepted;
      report.rejectedRecipients = error.rejected.map((r) => ({
        address: r.address,
        reply: replyJson(r.reply),
      }));
    }
    if (error instanceof SmtpError && error.reply) report.reply = replyJson(error.reply);
    reporter.fail(error);
  } finally {
    await session.quit();
  }
  return reporter.finish(report.accepted ? 0 : 1);
}
