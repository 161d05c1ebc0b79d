// `saslkit-smtp probe`: what the server says, and what each mechanism really does, each tried
// alone on its own connection, with no fallback, so that one mechanism's failure (a dropped
// connection, a security layer) cannot hide or spoil another's.

import {
  type ClientMechanism,
  defaultRegistry,
  type MechanismDescriptor,
  type PasswordCredentials,
  type Qop,
  type SkipReason,
} from "@saslkit/sasl";
import { SmtpError } from "../error.ts";
import { classifyAuthFailure } from "../policy.ts";
import type { AttemptResult } from "../memory.ts";
import type { SmtpSession } from "../session.ts";
import {
  belowRequired,
  type ConnectSettings,
  mechanismOptions,
  type NumberedEntry,
  openSession,
  tlsState,
} from "./connection.ts";
import {
  describeEhlo,
  type EhloJson,
  ehloJson,
  type ErrorJson,
  errorJson,
  formatReply,
  formatReplyJson,
  protectionText,
  replyFromTranscript,
  type ReplyJson,
  Reporter,
  tlsText,
} from "./report.ts";

/** How one mechanism's try ended. */
export type ProbeResult =
  | AttemptResult
  | Exclude<SkipReason, "not-offered">
  | "connection-failed";

/** One mechanism's entry in the JSON output. */
export interface ProbeResultJson {
  readonly mechanism: string;
  /** Whether the server listed it in EHLO (--mechanisms may name others). */
  readonly advertised: boolean;
  readonly result: ProbeResult;
  /** The server said 235 and the mechanism's own check of the server passed. */
  readonly authenticated: boolean;
  /** The server's replies to the AUTH exchange, 334 challenges included (their text is in the transcript). */
  readonly replies: readonly ReplyJson[];
  readonly qop: Qop | null;
  readonly cipher: string | null;
  /**
   * Whether the mechanism checked the server's proof (DIGEST-MD5 rspauth, SCRAM signature) and
   * it was right; false for mechanisms that cannot; null when there was no 235.
   */
  readonly serverVerified: boolean | null;
  /** The PBKDF2 iteration count a SCRAM server asked for; null otherwise. */
  readonly iterations: number | null;
  /** Whether NOOP after 235 got an answer; null when there was no 235. */
  readonly survivedNextCommand: boolean | null;
  readonly error: string | null;
  /** The connection of the transcript; null when none was opened. */
  readonly connection: number | null;
}

/** The JSON output of probe. */
export interface ProbeJson {
  readonly host: string;
  readonly port: number;
  readonly banner: string | null;
  readonly tls: "implicit" | "starttls" | "none" | null;
  /** The TLS protocol version (`TLSv1.3`), when TLS is in force and the runtime tells. */
  readonly tlsVersion: string | null;
  readonly certificateChecked: boolean | null;
  readonly ehlo: EhloJson | null;
  readonly ehloBeforeStartTls: EhloJson | null;
  readonly user: string | null;
  readonly results: readonly ProbeResultJson[];
  error: ErrorJson | null;
  transcript?: readonly NumberedEntry[];
}

function classify(error: unknown): ProbeResult {
  // The same reading as the fallback policy's, so that probe and send never disagree.
  return classifyAuthFailure(error, false).result as ProbeResult;
}

// Why a mechanism cannot be tried on a connection, as the registry's negotiation says; the
// server's list is not consulted, since --mechanisms may name what it does not advertise.
function whyNot(
  name: string,
  credentials: PasswordCredentials,
  secure: boolean,
  allowCleartext: boolean,
): { reason: Exclude<SkipReason, "not-offered">; detail: string } | undefined {
  const { skipped } = defaultRegistry.negotiate({
    offered: [name],
    preferred: [name],
    credentials,
    secure,
    allowCleartext,
  });
  const skip = skipped.find((s) => s.reason !== "not-offered");
  if (!skip) return undefined;
  const hint = skip.reason === "needs-tls" ? " (--allow-cleartext to try it anyway)" : "";
  return { reason: skip.reason as Exclude<SkipReason, "not-offered">, detail: skip.detail + hint };
}

async function buildClient(
  descriptor: MechanismDescriptor,
  credentials: PasswordCredentials,
  settings: ConnectSettings,
  session: SmtpSession,
): Promise<ClientMechanism> {
  return await descriptor.createClient(credentials, {
    service: "smtp",
    host: settings.options.servername,
    port: settings.options.port,
    secure: session.secure,
    channelBindings: session.transport.channelBindings?.(),
    offered: session.capabilities?.auth,
    options: mechanismOptions(settings.options),
  });
}

async function probeOne(
  settings: ConnectSettings,
  credentials: PasswordCredentials,
  name: string,
  advertised: boolean,
  secure: boolean,
): Promise<ProbeResultJson> {
  const { options, recorder } = settings;
  // Every result has every field, in this order, so the JSON reads the same for each.
  const entry = (
    fields: Partial<ProbeResultJson> & Pick<ProbeResultJson, "result">,
  ): ProbeResultJson => ({
    mechanism: name,
    advertised,
    result: fields.result,
    authenticated: fields.authenticated ?? false,
    replies: fields.replies ?? [],
    qop: fields.qop ?? null,
    cipher: fields.cipher ?? null,
    serverVerified: fields.serverVerified ?? null,
    iterations: fields.iterations ?? null,
    survivedNextCommand: fields.survivedNextCommand ?? null,
    error: fields.error ?? null,
    connection: fields.connection ?? null,
  });
  const allowCleartext = options.allowCleartext ?? false;
  const before = whyNot(name, credentials, secure, allowCleartext);
  if (before) return entry({ result: before.reason, error: before.detail });
  const descriptor = defaultRegistry.get(name)!;
  if (
    options.requireQop && options.requireQop !== "auth" &&
    !descriptor.properties.offersSecurityLayer
  ) {
    return entry({
      result: "insufficient-protection",
      error: `${name} has no security layer, and --require-qop is ${options.requireQop}`,
    });
  }

  let session: SmtpSession;
  let connection: number;
  try {
    ({ session, connection } = await openSession(settings, name));
  } catch (error) {
    return entry({ result: "connection-failed", error: errorJson(error).message });
  }
  // A later connection may lack TLS where the first had it (a downgrade): check again.
  const now = whyNot(name, credentials, session.secure, allowCleartext);
  if (now) {
    await session.quit();
    return entry({ connection, result: now.reason, error: now.detail });
  }
  const mark = recorder.entries.length;
  const replies = () =>
    recorder.entries.slice(mark)
      .filter((e) => e.direction === "S")
      .map((e) => replyFromTranscript(e.text))
      .filter((r): r is ReplyJson => r !== undefined);
  try {
    const client = await buildClient(descriptor, credentials, settings, session);
    const outcome = await session.authenticate(client);
    const authReplies = replies();
    if (belowRequired(options, outcome.qop)) {
      session.close();
      return entry({
        connection,
        result: "insufficient-protection",
        authenticated: true,
        replies: authReplies,
        qop: outcome.qop,
        cipher: outcome.cipher ?? null,
        error: `ended with qop=${outcome.qop}, below --require-qop ${options.requireQop}; ` +
          "connection closed",
      });
    }
    let survived = true;
    let error: string | null = null;
    try {
      await session.noop();
    } catch (noopError) {
      // A refused NOOP still proves the connection (and its layer) works.
      survived = noopError instanceof SmtpError && noopError.code === "rejected";
      error = errorJson(noopError).message;
    }
    await session.quit();
    return entry({
      connection,
      result: survived ? "authenticated" : "dropped-after-auth",
      authenticated: true,
      replies: authReplies,
      qop: outcome.qop,
      cipher: outcome.cipher ?? null,
      // finish() throws unless a mechanism that can verify the server did.
      serverVerified: client.properties.verifiesServer,
      iterations: outcome.iterations ?? null,
      survivedNextCommand: survived,
      error,
    });
  } catch (error) {
    session.close();
    const json = errorJson(error);
    return entry({
      connection,
      result: classify(error),
      replies: replies(),
      error: json.message,
    });
  }
}

const SKIPS: readonly ProbeResult[] = [
  "unknown",
  "no-credential",
  "no-authorization-id",
  "needs-tls",
  "needs-channel-binding",
  "channel-binding-disabled",
  "channel-binding-required",
];

function describeResult(result: ProbeResultJson): string[] {
  const replies = result.replies.map(formatReplyJson).join(", ");
  const note = result.advertised ? "" : " (not advertised)";
  const lines: string[] = [];
  if (result.result === "insufficient-protection") {
    lines.push(
      `${result.mechanism}${note}: not accepted (insufficient-protection): ${result.error}`,
    );
  } else if (result.authenticated) {
    const protection = `protection ${protectionText(result.qop, result.cipher)}` +
      (result.serverVerified ? ", server verified" : ", server not verified") +
      (result.iterations === null ? "" : `, ${result.iterations} iterations`);
    lines.push(
      result.survivedNextCommand
        ? `${result.mechanism}${note}: authenticated (${protection}); NOOP afterwards: ok`
        : `${result.mechanism}${note}: authenticated (${protection}), but the connection did ` +
          `not survive the next command: ${result.error}`,
    );
    if (result.survivedNextCommand && result.error) {
      lines.push(`  note: ${result.error}`);
    }
  } else if (SKIPS.includes(result.result)) {
    lines.push(`${result.mechanism}${note}: not tried: ${result.error}`);
  } else {
    lines.push(`${result.mechanism}${note}: not authenticated (${result.result}): ${result.error}`);
  }
  if (replies) lines.push(`  replies: ${replies}`);
  return lines;
}

/** Runs probe; writes the report to `out` and returns the exit status. */
export async function runProbe(
  settings: ConnectSettings,
  credentials: PasswordCredentials | undefined,
  out: (text: string) => void,
  err: (text: string) => void,
): Promise<number> {
  const { options } = settings;
  const reporter = new Reporter<ProbeJson>(
    settings,
    {
      host: options.host,
      port: options.port,
      banner: null,
      tls: null,
      tlsVersion: null,
      certificateChecked: null,
      ehlo: null,
      ehloBeforeStartTls: null,
      user: credentials?.username ?? null,
      results: [],
      error: null,
    },
    out,
    err,
  );
  const report = reporter.report as { -readonly [K in keyof ProbeJson]: ProbeJson[K] };
  const human = (line: string) => reporter.line(line);
  const finish = (status: number) => reporter.finish(status);

  human(`Server: ${options.host}:${options.port}`);
  let secure: boolean;
  let advertised: readonly string[];
  try {
    const opened = await openSession(settings, "EHLO");
    const { session, capabilities, beforeStartTls } = opened;
    secure = session.secure;
    advertised = capabilities.auth;
    await session.quit();
    const tls = tlsState(options, secure);
    report.tlsVersion = session.transport.tlsVersion?.() ?? null;
    report.banner = formatReply(session.greeting);
    report.tls = tls;
    report.certificateChecked = tls === "none" ? null : !options.insecure;
    report.ehlo = ehloJson(capabilities);
    report.ehloBeforeStartTls = beforeStartTls ? ehloJson(beforeStartTls) : null;
    human(`Banner: ${report.banner}`);
    human(
      `TLS: ${
        tls !== "none"
          ? tlsText(tls, report.tlsVersion)
          : options.security === "none"
          ? "none (--no-starttls)"
          : "none (the server does not offer STARTTLS)"
      }${tls !== "none" && options.insecure ? " — certificate NOT checked (--insecure)" : ""}`,
    );
    if (beforeStartTls) {
      human("EHLO before STARTTLS:");
      describeEhlo(beforeStartTls).forEach((line) => human(line));
    }
    human(`EHLO: ${capabilities.domain}`);
    describeEhlo(capabilities).forEach((line) => human(line));
  } catch (error) {
    reporter.fail(error);
    return finish(1);
  }
  if (!credentials) return finish(0);

  const names = options.mechanisms ?? advertised;
  if (names.length === 0) {
    reporter.fail(new SmtpError("no-mechanism", "the server offers no AUTH mechanism"));
    return finish(1);
  }
  human("");
  human(`Mechanisms, each on its own connection, as ${credentials.username}:`);
  const results: ProbeResultJson[] = [];
  for (const name of names) {
    const result = await probeOne(settings, credentials, name, advertised.includes(name), secure);
    results.push(result);
    describeResult(result).forEach((line) => human(`  ${line}`));
  }
  report.results = results;
  const usable = results.filter((r) => r.result === "authenticated").map((r) => r.mechanism);
  human("");
  if (usable.length) human(`Usable: ${usable.join(", ")}`);
  else reporter.say("no mechanism authenticated and kept the connection");
  return finish(usable.length ? 0 : 1);
}
