// `saslkit-smtp serve`: the embedded test server as a command, so that any application can be
// pointed at it. Each accepted message is printed and, with --folder, written as an .eml file.

import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import process from "node:process";
import { type ReceivedMessage, startTestServer } from "../test_server.ts";
import type { ServeOptions } from "./args.ts";

const DEFAULT_USER = "smtpuser";
const DEFAULT_PASSWORD = "secret";
const DEFAULT_MECHANISMS = ["DIGEST-MD5", "CRAM-MD5", "LOGIN", "PLAIN"];

function describeMessage(message: ReceivedMessage, file?: string): string {
  const subject = /^Subject: (.*)$/im.exec(message.data.split("\r\n\r\n")[0])?.[1];
  const how = [
    message.mechanism ? `${message.mechanism} as ${message.authenticatedAs}` : "no AUTH",
    `qop ${message.qop ?? "auth"}`,
    message.tls ? "TLS" : "no TLS",
  ].join(", ");
  return `Message ${message.queueId ?? ""} from <${message.from}> to ${
    message.to.map((t) => `<${t}>`).join(", ")
  } (${how}; ${new TextEncoder().encode(message.data).length} bytes)` +
    (subject ? `\n  Subject: ${subject.slice(0, 200)}` : "") +
    (file ? `\n  saved to ${file}` : "");
}

/**
 * Runs the server until the signal aborts (or SIGINT/SIGTERM without one); returns the exit
 * status.
 */
export async function runServe(
  options: ServeOptions,
  users: Record<string, string> | undefined,
  out: (text: string) => void,
  err: (text: string) => void,
  signal?: AbortSignal,
): Promise<number> {
  if (options.folder !== undefined) mkdirSync(options.folder, { recursive: true });
  const server = await startTestServer({
    hostname: options.host,
    port: options.port,
    domain: options.domain,
    users,
    mechanisms: options.mechanisms,
    digestQop: options.digestQop,
    behaviour: {
      dropAfterAuth: options.dropAfterAuth,
      rejectAdvertised: options.rejectMechanisms,
    },
    onMessage: (message) => {
      let file: string | undefined;
      if (options.folder !== undefined) {
        // Queue ids restart with each run: never overwrite a message of an earlier one.
        const base = join(options.folder, message.queueId ?? `message-${Date.now()}`);
        file = `${base}.eml`;
        for (let n = 2; existsSync(file); n++) file = `${base}-${n}.eml`;
        try {
          writeFileSync(file, message.data);
        } catch (error) {
          err(`saslkit-smtp: serve: cannot write ${file}: ${(error as Error).message}\n`);
          file = undefined;
        }
      }
      out(`${describeMessage(message, file)}\n`);
    },
  });
  const mechanisms = options.mechanisms ?? DEFAULT_MECHANISMS;
  const qop = options.digestQop ?? ["auth", "auth-int", "auth-conf"];
  const behaviour = [
    ...options.dropAfterAuth.map((m) => `${m}: 235, then the connection is dropped`),
    ...options.rejectMechanisms.map((m) => `${m}: advertised, but AUTH answers 504`),
  ];
  out(
    [
      `saslkit-smtp test server listening on ${server.hostname}:${server.port}`,
      users
        ? `  user: ${Object.keys(users)[0]} (password from the environment)`
        : `  user: ${DEFAULT_USER}, password: ${DEFAULT_PASSWORD}`,
      `  mechanisms: ${mechanisms.join(" ") || "(no AUTH)"}`,
      mechanisms.includes("DIGEST-MD5")
        ? `  DIGEST-MD5 qop offered: ${qop.join(", ")}` +
          (qop.some((q) => q !== "auth")
            ? " (like Sendmail: a client that agrees to a layer and ignores it is dropped)"
            : " (like Postfix: no layer)")
        : undefined,
      ...behaviour.map((line) => `  ${line}`),
      '  no TLS: connect with --no-starttls (security: "none"); PLAIN and LOGIN need ' +
      "--allow-cleartext",
      options.folder !== undefined ? `  messages are written to ${options.folder}` : undefined,
      "Stop with Ctrl-C.",
    ].filter((line) => line !== undefined).join("\n") + "\n",
  );
  await new Promise<void>((resolve) => {
    if (signal) {
      if (signal.aborted) return resolve();
      signal.addEventListener("abort", () => resolve(), { once: true });
      return;
    }
    const stop = () => {
      process.off("SIGINT", stop);
      process.off("SIGTERM", stop);
      resolve();
    };
    process.on("SIGINT", stop);
    process.on("SIGTERM", stop);
  });
  await server.close();
  out(`Stopped; ${server.messages.length} message(s) received.\n`);
  return 0;
}
