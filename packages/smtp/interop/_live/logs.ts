// Reading the servers' logs for one connection, and running the Perl client of the report.

import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import type { SmtpPeer } from "../servers.ts";

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** The server log, once `ready` holds for it (syslog lines arrive a moment late). */
export async function logWhen(
  peer: SmtpPeer,
  ready: (log: string) => boolean,
  timeoutMs = 3000,
): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const log = await peer.log();
    if (ready(log) || Date.now() > deadline) return log;
    await sleep(50);
  }
}

/** How often `needle` occurs in `text`. */
export function count(text: string, needle: string): number {
  return text.split(needle).length - 1;
}

/** The queue ID in Sendmail's reply to a message: `250 2.0.0 6ARL69HQ000031 Message accepted…`. */
export function sendmailQueueId(reply: { readonly lines: readonly string[] }): string {
  const match = /^(\w+) Message accepted/.exec(reply.lines[0] ?? "");
  assert.ok(match, `not Sendmail's acceptance: ${JSON.stringify(reply.lines)}`);
  return match[1];
}

/**
 * Every syslog line of the Sendmail process that accepted the message `queueId` (one process per
 * connection), once that connection is closed.
 */
export async function sendmailConnectionLog(peer: SmtpPeer, queueId: string): Promise<string[]> {
  const pidOf = (log: string) => new RegExp(`sendmail\\[(\\d+)\\]: ${queueId}:`).exec(log)?.[1];
  const log = await logWhen(peer, (text) => {
    const pid = pidOf(text);
    return pid !== undefined &&
      new RegExp(`sendmail\\[${pid}\\]: .*closing connection`).test(text);
  });
  const pid = pidOf(log);
  assert.ok(pid, `no syslog line for ${queueId}`);
  return log.split("\n").filter((line) => line.includes(`sendmail[${pid}]:`));
}

/** What net_smtp_repro.pl reports (its last line of output). */
export interface ReproResult {
  mechanism?: string;
  qop?: string;
  cipher?: string | null;
  auth?: { ok: boolean; code: string };
  mail?: { ok: boolean; code: string | number; connected: boolean };
  sent: boolean;
  error?: string;
}

const REPRO = fileURLToPath(new URL("../perl/net_smtp_repro.pl", import.meta.url));

/** Runs the motivating report's Net::SMTP + Authen::SASL client against `peer`. */
export function runPerlRepro(peer: SmtpPeer, extra: string[] = []): Promise<ReproResult> {
  const user = peer.users[0];
  const args = [
    REPRO,
    "--port",
    String(peer.port),
    "--user",
    user.username,
    "--password",
    user.password,
    ...extra,
  ];
  return new Promise((resolve, reject) => {
    execFile("perl", args, { timeout: 30000, encoding: "utf8" }, (error, stdout, stderr) => {
      if (error) {
        reject(new Error(`net_smtp_repro.pl failed: ${error.message}\n${stderr}`));
        return;
      }
      resolve(JSON.parse(stdout.trim().split("\n").at(-1) ?? "") as ReproResult);
    });
  });
}

/** The queue ID in Postfix's reply to a message: `250 2.0.0 Ok: queued as 4dKqWx0sQnz1`. */
export function postfixQueueId(reply: { readonly lines: readonly string[] }): string {
  const match = /queued as (\w+)/.exec(reply.lines[0] ?? "");
  assert.ok(match, `not Postfix's acceptance: ${JSON.stringify(reply.lines)}`);
  return match[1];
}
