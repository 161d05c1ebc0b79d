#!/usr/bin/env node
/**
 * `saslkit-smtp`: find out which SASL mechanisms an SMTP server really accepts, and send a
 * message with the fallback policy of `@saslkit/smtp`.
 *
 * - `probe` shows the greeting and the EHLO capabilities; with `--user`, it tries every
 *   advertised mechanism (or those of `--mechanisms`), each alone on a fresh connection, and
 *   reports the replies, the negotiated DIGEST-MD5 protection and cipher, and whether the
 *   connection survived the command after `235` — a server that accepts a mechanism and
 *   then drops the connection shows up here.
 * - `send` authenticates with {@linkcode authenticate} (mechanisms in `--mechanisms` order,
 *   moving on after failures) and sends standard input as one message.
 * - `serve` runs the embedded test server (`@saslkit/smtp/test-server`) until Ctrl-C: it
 *   prints every message it accepts and writes each to `--folder` as an `.eml` file.
 *
 * STARTTLS is used when the server offers it (`--starttls` requires it, `--tls` is implicit
 * TLS, `--no-starttls` never). The password is never an argument: `--password-env NAME`
 * reads it from the environment variable `NAME`. Nothing printed — text, JSON, `--verbose`
 * transcript, errors — contains the password, a SASL response or a token.
 *
 * Exit status: 0 success (probe with `--user`: at least one mechanism authenticated and kept
 * the connection; send: the message was accepted), 1 authentication, sending or the
 * connection failed, 2 usage error.
 *
 * @example From npm, as the `saslkit-smtp` command
 * ```sh
 * export SMTP_PASSWORD='…'
 * npx saslkit-smtp probe --host mail.example.com --user smtpuser --password-env SMTP_PASSWORD
 * npx saslkit-smtp probe --host mail.example.com --user smtpuser --password-env SMTP_PASSWORD \
 *   --mechanisms DIGEST-MD5 --qop auth-conf --json --verbose
 * echo "Hello" | npx saslkit-smtp send --host mail.example.com --user smtpuser \
 *   --password-env SMTP_PASSWORD --from me@example.com --to you@example.com --subject Hi
 * npx saslkit-smtp serve --port 2525 --folder received   # the test server, until Ctrl-C
 * ```
 *
 * @example With Deno, from a checkout
 * ```sh
 * deno run --allow-net --allow-env=SMTP_PASSWORD packages/smtp/cli.ts \
 *   probe --host mail.example.com --user smtpuser --password-env SMTP_PASSWORD
 * ```
 *
 * (`--ca FILE` also needs `--allow-read`.) The first line of this file is a `node` shebang,
 * for the npm `bin`; run it with `deno run`, not directly, under Deno.
 *
 * @example From a program or a test
 * ```ts ignore
 * import { main } from "@saslkit/smtp/cli";
 *
 * let output = "";
 * const status = await main(
 *   ["probe", "--host", "127.0.0.1", "--port", "2525", "--user", "smtpuser",
 *     "--password-env", "SMTP_PASSWORD", "--json"],
 *   { stdout: (text) => output += text, env: { SMTP_PASSWORD: "secret" } },
 * );
 * console.log(status, JSON.parse(output).results);
 * ```
 *
 * @module
 */

import { readFileSync, realpathSync } from "node:fs";
import process from "node:process";
import { fileURLToPath } from "node:url";
import type { PasswordCredentials } from "@saslkit/sasl";
import { parseCliArgs, SHORT_USAGE, USAGE, UsageError, VERSION_TEXT } from "./_cli/args.ts";
import { type ConnectSettings, TranscriptRecorder } from "./_cli/connection.ts";
import { runProbe } from "./_cli/probe.ts";
import { messageFromInput, runSend } from "./_cli/send.ts";
import { runServe } from "./_cli/serve.ts";

/**
 * Where {@linkcode main} reads and writes; each defaults to the process's own.
 *
 * @example Capturing the output
 * ```ts
 * import type { CliIo } from "@saslkit/smtp/cli";
 *
 * let stdout = "";
 * const io: CliIo = { stdout: (text) => stdout += text, env: {}, stdin: "Subject: hi\n\nhello\n" };
 * ```
 */
export interface CliIo {
  /** Receives standard output. */
  readonly stdout?: (text: string) => void;
  /** Receives standard error: usage, errors, warnings and the `--verbose` transcript. */
  readonly stderr?: (text: string) => void;
  /** The message for `send`: text, bytes or a stream of chunks. */
  readonly stdin?: string | Uint8Array | AsyncIterable<Uint8Array | string>;
  /** The environment, where `--password-env` looks. */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Ends `serve` when aborted; without it, `serve` runs until SIGINT or SIGTERM. */
  readonly signal?: AbortSignal;
}

/**
 * How a missing or empty `--password-env` variable is reported. The name is shown only when it
 * looks like a variable name by convention (`SMTP_PASSWORD`: upper case, digits, `_`); anything
 * else may be the password itself, typed where the name belongs, and is never echoed.
 */
function passwordEnvProblem(name: string, problem: "is not set" | "is empty"): string {
  if (/^[A-Z_][A-Z0-9_]{0,63}$/.test(name)) return `the environment variable ${name} ${problem}`;
  return `the environment variable named by --password-env ${problem} (the name is not ` +
    "shown: it does not look like one, and may be the password; --password-env takes the " +
    "NAME of a variable, e.g. SMTP_PASSWORD)";
}

async function readAll(input: NonNullable<CliIo["stdin"]>): Promise<string> {
  if (typeof input === "string") return input;
  const decoder = new TextDecoder();
  if (input instanceof Uint8Array) return decoder.decode(input);
  let text = "";
  for await (const chunk of input) {
    text += typeof chunk === "string" ? chunk : decoder.decode(chunk, { stream: true });
  }
  return text + decoder.decode();
}

/**
 * Runs the command line and resolves to its exit status: 0 success, 1 authentication,
 * sending or the connection failed, 2 usage error. It never throws for a failure of the
 * server, and never calls `process.exit`.
 *
 * @param args The arguments without the program name, e.g. `process.argv.slice(2)`.
 * @param io Where to read and write; defaults to the process's streams and environment.
 * @returns The exit status.
 *
 * @example A usage error
 * ```ts
 * import { main } from "@saslkit/smtp/cli";
 * import assert from "node:assert/strict";
 *
 * let stderr = "";
 * const status = await main(["probe", "--password", "hunter2"], { stderr: (t) => stderr += t });
 * assert.equal(status, 2);
 * assert.match(stderr, /--password-env/);
 * assert.doesNotMatch(stderr, /hunter2/);
 * ```
 */
export async function main(args: readonly string[], io: CliIo = {}): Promise<number> {
  const stdout = io.stdout ?? ((text: string) => void process.stdout.write(text));
  const stderr = io.stderr ?? ((text: string) => void process.stderr.write(text));
  const usageError = (message: string) => {
    stderr(`saslkit-smtp: ${message}\n${SHORT_USAGE}`);
    return 2;
  };

  let parsed;
  try {
    parsed = parseCliArgs(args);
  } catch (error) {
    if (error instanceof UsageError) return usageError(error.message);
    throw error;
  }
  if (parsed.help) {
    stdout(USAGE);
    return 0;
  }
  if (parsed.version) {
    stdout(VERSION_TEXT);
    return 0;
  }
  const env = io.env ?? process.env;
  const password = (name: string): string | number => {
    const value = env[name];
    if (value === undefined) return usageError(passwordEnvProblem(name, "is not set"));
    if (value === "") return usageError(passwordEnvProblem(name, "is empty"));
    return value;
  };
  if ("serve" in parsed) {
    const { serve } = parsed;
    let users: Record<string, string> | undefined;
    if (serve.user !== undefined) {
      const value = password(serve.passwordEnv!);
      if (typeof value === "number") return value;
      users = { [serve.user]: value };
    }
    try {
      return await runServe(serve, users, stdout, stderr, io.signal);
    } catch (error) {
      stderr(`saslkit-smtp: serve: ${(error as Error)?.message ?? String(error)}\n`);
      return 1;
    }
  }
  const { options } = parsed;

  let credentials: PasswordCredentials | undefined;
  if (options.user !== undefined) {
    const value = password(options.passwordEnv!);
    if (typeof value === "number") return value;
    credentials = { username: options.user, password: value, authorizationId: options.authzid };
  }

  let ca: string | undefined;
  if (options.caFile !== undefined) {
    try {
      ca = readFileSync(options.caFile, "utf8");
    } catch (error) {
      return usageError(`cannot read --ca ${options.caFile}: ${(error as Error).message}`);
    }
    if (!ca.includes("-----BEGIN CERTIFICATE-----")) {
      return usageError(`--ca ${options.caFile} holds no PEM certificate`);
    }
  }
  if (options.insecure) {
    stderr(
      "saslkit-smtp: WARNING: --insecure: the server's certificate is NOT checked. Anyone " +
        "between you and the server can read and change this session, the password included.\n",
    );
  }

  let data = "";
  if (options.command === "send") {
    const input = io.stdin ?? process.stdin;
    if (input === process.stdin && process.stdin.isTTY) {
      stderr("saslkit-smtp: reading the message from standard input; end it with Ctrl-D\n");
    }
    try {
      data = messageFromInput(options, await readAll(input));
    } catch (error) {
      return usageError((error as Error).message);
    }
  }

  const live = options.verbose && !options.json ? (line: string) => stderr(`${line}\n`) : undefined;
  const settings: ConnectSettings = { options, ca, recorder: new TranscriptRecorder(live) };
  try {
    return options.command === "probe"
      ? await runProbe(settings, credentials, stdout, stderr)
      : await runSend(settings, credentials, data, stdout, stderr);
  } catch (error) {
    // A bug rather than a server failure; its message still carries no secret.
    stderr(`saslkit-smtp: unexpected error: ${(error as Error)?.message ?? String(error)}\n`);
    return 1;
  }
}

function isEntryPoint(): boolean {
  const meta = import.meta as { main?: boolean };
  if (typeof meta.main === "boolean") return meta.main;
  // Node before 24: compare the script node was started with (perhaps npm's bin symlink).
  const script = process.argv[1];
  if (!script) return false;
  try {
    return realpathSync(script) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (isEntryPoint()) {
  process.exitCode = await main(process.argv.slice(2));
}
