// Opening a session with a diagnosis instead of a bare timeout: the policy and the command line
// both greet the server through here.

import { SmtpError } from "./error.ts";
import { SmtpSession, type SmtpSessionOptions } from "./session.ts";
import type { SmtpTransport } from "./transport.ts";

/** Ports where the server speaks TLS first and never greets in plaintext. */
const IMPLICIT_TLS_PORTS: ReadonlySet<number> = new Set([465]);
/** How long a plaintext connection to such a port waits for a greeting before saying so. */
const SILENT_TLS_PORT_MS = 5_000;

/** Where the session goes, for the diagnosis. */
export interface OpenTarget {
  readonly host: string;
  readonly port: number;
}

/**
 * Reads the greeting like `SmtpSession.open`, but a plaintext connection to an implicit-TLS
 * port that stays silent is `tls-expected` after a few seconds, and any greeting timeout says
 * what to try.
 *
 * @throws {SmtpError} `tls-expected`, `timeout`, or whatever `SmtpSession.open` throws.
 */
export async function openGreeted(
  transport: SmtpTransport,
  options: SmtpSessionOptions,
  target: OpenTarget,
): Promise<SmtpSession> {
  const where = `${target.host}:${target.port}`;
  const tlsExpected = () =>
    new SmtpError(
      "tls-expected",
      `${where} sent no greeting: port ${target.port} speaks implicit TLS; use --tls ` +
        `(security: "tls")`,
    );
  const timeoutMs = options.timeoutMs ?? 30_000;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let silent = false;
  if (!transport.secure && IMPLICIT_TLS_PORTS.has(target.port) && timeoutMs > SILENT_TLS_PORT_MS) {
    timer = setTimeout(() => {
      silent = true;
      transport.close();
    }, SILENT_TLS_PORT_MS);
  }
  try {
    return await SmtpSession.open(transport, options);
  } catch (error) {
    if (silent) throw tlsExpected();
    if (error instanceof SmtpError && error.code === "timeout" && !transport.secure) {
      if (IMPLICIT_TLS_PORTS.has(target.port)) throw tlsExpected();
      throw new SmtpError(
        "timeout",
        `${where} sent no greeting within ${timeoutMs} ms; if that port speaks implicit TLS, ` +
          `use --tls (security: "tls")`,
        { cause: error },
      );
    }
    throw error;
  } finally {
    clearTimeout(timer);
  }
}
