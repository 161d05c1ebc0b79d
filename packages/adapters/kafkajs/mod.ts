/**
 * saslkit inside kafkajs (2.2): SCRAM-SHA-512, SCRAM-SHA-256 (and PLAIN over TLS) from
 * saslkit's mechanism registry, through kafkajs's public, documented custom authentication
 * hook `sasl: { mechanism, authenticationProvider }`, with the SCRAM server signature verified
 * before the connection counts as authenticated.
 *
 * How it plugs in, read from kafkajs 2.2.4's `src/broker/saslAuthenticator/index.js`:
 * - kafkajs sends `SaslHandshake` naming `sasl.mechanism`, checks that the broker enables it,
 *   then calls `authenticationProvider({ host, port, logger, saslAuthenticate })` and awaits
 *   `authenticate()` once per connection (and again at each re-authentication).
 * - Each `saslAuthenticate({ request, response })` is one SASL message each way:
 *   `request.encode()` gives the client message (framed as Kafka `BYTES`, a 32-bit length
 *   first), kafkajs sends it in a `SaslAuthenticate` request (v0/v1), or as a raw frame to a
 *   broker older than Kafka 1.0, and hands the broker's answer, framed the same way, to
 *   `response.decode()` and `response.parse()`.
 * - The handshake names one mechanism per connection, chosen before the connection exists:
 *   there is no fallback to another mechanism inside one handshake, and the provider never
 *   sees the broker's list. {@linkcode saslkitSasl} takes one `mechanism` (default
 *   `SCRAM-SHA-512`) and checks it against the credentials and the connection when it is
 *   called.
 * - The provider is not told whether kafkajs's connection is TLS, and gets no socket: the
 *   caller says so with `ssl` (PLAIN needs it), and SCRAM runs without channel binding
 *   (`-PLUS` is refused).
 * - A SCRAM exchange ends when the broker's server-final message has been verified: a wrong
 *   `v=` is `server-verification-failed`, and an empty answer where the server-final belongs
 *   is `server-not-verified`; `authenticate()` rejects and kafkajs does not use the
 *   connection.
 * - Failures of the exchange reject with a {@linkcode SaslError} (a wrong password:
 *   `authentication-failed`, from the broker's `SASL_AUTHENTICATION_FAILED`) marked
 *   `retriable: false` (kafkajs's retriers retry an error that does not say so), so a wrong
 *   password is sent once; `connect()` of kafkajs's admin, producer and consumer rejects with
 *   that `SaslError` itself. Failures of the transport (a dropped connection, a timeout) stay
 *   kafkajs's own errors, which kafkajs retries.
 * - The provider logs through kafkajs's `logger` only the mechanism, the broker and, on
 *   failure, the error code and message, which never hold a secret; kafkajs itself logs no
 *   SASL request payload.
 *
 * @example SCRAM-SHA-512 for a kafkajs client
 * ```ts ignore
 * import { Kafka } from "kafkajs";
 * import { saslkitSasl } from "@saslkit/adapters/kafkajs";
 *
 * const kafka = new Kafka({
 *   brokers: ["kafka.example.com:9093"],
 *   ssl: true,
 *   sasl: saslkitSasl({
 *     mechanism: "SCRAM-SHA-512",
 *     credentials: { username: "app", password: process.env.KAFKA_PASSWORD! },
 *     ssl: true,
 *   }),
 * });
 * await kafka.admin().connect(); // rejects with a SaslError unless the broker proved itself
 * ```
 *
 * @module
 */

import { Buffer } from "node:buffer";
import {
  type Credentials,
  defaultRegistry,
  type MechanismDescriptor,
  type MechanismOptions,
  type MechanismRegistry,
  SaslError,
  type SaslOutcome,
} from "@saslkit/sasl";

/** The part of kafkajs's logger the provider uses. */
export interface KafkaLoggerLike {
  /** Logs at debug level. */
  debug(message: string, extra?: object): void;
  /** Logs at error level. */
  error(message: string, extra?: object): void;
}

/** One SASL message for kafkajs: `encode()` gives it framed as Kafka `BYTES`. */
export interface KafkaSaslRequest {
  /** The message, a 32-bit big-endian length first. */
  encode(): Buffer | Promise<Buffer>;
}

/** How kafkajs turns the broker's framed answer into a value. */
export interface KafkaSaslResponse<T> {
  /** Unframes the broker's answer. */
  decode(raw: Buffer): Buffer | Promise<Buffer>;
  /** Turns the unframed answer into what `saslAuthenticate` resolves with. */
  parse(data: Buffer): T;
}

/** What kafkajs passes to an `authenticationProvider` (its `AuthenticationProviderArgs`). */
export interface KafkaAuthenticationProviderArgs {
  /** The broker's host. */
  readonly host: string;
  /** The broker's port. */
  readonly port: number;
  /** kafkajs's logger, namespaced for this authenticator. */
  readonly logger: KafkaLoggerLike;
  /** Sends one SASL message and resolves with the parsed answer. */
  saslAuthenticate<T>(
    args: { request: KafkaSaslRequest; response?: KafkaSaslResponse<T> },
  ): Promise<T | void>;
}

/** What goes into `new Kafka({ sasl })` (kafkajs's `Mechanism`). */
export interface KafkaSaslConfig {
  /** The mechanism kafkajs names in its `SaslHandshake`. */
  readonly mechanism: string;
  /** kafkajs calls it once per authentication of a connection. */
  authenticationProvider(
    args: KafkaAuthenticationProviderArgs,
  ): { authenticate(): Promise<void> };
  /** What the latest successful authentication (of any connection) established. */
  readonly lastOutcome: SaslOutcome | undefined;
}

/** Options of {@linkcode saslkitSasl}. */
export interface SaslkitSaslOptions {
  /** The caller's credentials: `{ username, password }` for SCRAM and PLAIN. */
  readonly credentials: Credentials;
  /**
   * The one mechanism kafkajs will name in its handshake. Default `SCRAM-SHA-512`. Kafka
   * brokers also know `SCRAM-SHA-256` and, over TLS, `PLAIN`.
   */
  readonly mechanism?: string;
  /**
   * Whether kafkajs connects with TLS (`ssl` of its config): the provider cannot tell, and
   * PLAIN, which sends the password, is refused without it. Default false.
   */
  readonly ssl?: boolean;
  /** Allow PLAIN without `ssl`. Default false. */
  readonly allowCleartext?: boolean;
  /** Where the mechanism comes from. Default: saslkit's `defaultRegistry` (SCRAM first). */
  readonly registry?: MechanismRegistry;
  /** Per-mechanism settings (`scram: { minIterations, maxIterations, cache }`). */
  readonly options?: MechanismOptions;
}

/** A {@linkcode SaslError} as the kafkajs provider rejects with: kafkajs must not retry it. */
export type KafkaSaslError = SaslError & { readonly retriable: false };

const MAX_STEPS = 16;
const MAX_MESSAGE = 1 << 20;
const SASL_AUTHENTICATION_FAILED = 58;

/**
 * Makes kafkajs's `sasl` option from a saslkit mechanism: `{ mechanism, authenticationProvider }`.
 *
 * @param options Credentials, the mechanism, whether the connection is TLS.
 * @returns What to pass as `sasl` to `new Kafka()`.
 * @throws {SaslError} `invalid-argument` when the mechanism is unknown, takes other
 * credentials, binds to the channel (`-PLUS`) or sends the password without `ssl`.
 *
 * @example The provider runs a real SCRAM exchange; PLAIN needs TLS
 * ```ts
 * import { saslkitSasl } from "@saslkit/adapters/kafkajs";
 * import assert from "node:assert/strict";
 *
 * const credentials = { username: "app", password: "pencil" };
 * assert.equal(saslkitSasl({ credentials }).mechanism, "SCRAM-SHA-512");
 * assert.throws(() => saslkitSasl({ credentials, mechanism: "PLAIN" }), {
 *   code: "invalid-argument",
 * });
 * assert.equal(saslkitSasl({ credentials, mechanism: "plain", ssl: true }).mechanism, "PLAIN");
 * ```
 */
export function saslkitSasl(options: SaslkitSaslOptions): KafkaSaslConfig {
  if (typeof options !== "object" || options === null) {
    throw new SaslError("invalid-argument", "saslkitSasl needs options with credentials");
  }
  const registry = options.registry ?? defaultRegistry;
  const name = options.mechanism ?? "SCRAM-SHA-512";
  if (typeof name !== "string") {
    throw new SaslError("invalid-argument", "mechanism must be a mechanism name");
  }
  const secure = options.ssl ?? false;
  const { order, skipped } = registry.negotiate({
    offered: [name],
    preferred: [name],
    credentials: options.credentials,
    secure,
    channelBinding: "disable",
    allowCleartext: options.allowCleartext ?? false,
  });
  if (order.length === 0) {
    const why = skipped.map((s) => `${s.name}: ${s.detail}`).join(", ");
    throw new SaslError("invalid-argument", `cannot use ${name.toUpperCase()} (${why})`);
  }
  const descriptor = order[0];
  const { credentials } = options;
  const mechanismOptions = options.options;
  let lastOutcome: SaslOutcome | undefined;
  return Object.freeze({
    mechanism: descriptor.name,
    get lastOutcome() {
      return lastOutcome;
    },
    authenticationProvider: (args: KafkaAuthenticationProviderArgs) => ({
      authenticate: async () => {
        lastOutcome = await authenticate(descriptor, credentials, mechanismOptions, secure, args);
      },
    }),
  });
}

async function authenticate(
  descriptor: MechanismDescriptor,
  credentials: Credentials,
  options: MechanismOptions | undefined,
  secure: boolean,
  { host, port, logger, saslAuthenticate }: KafkaAuthenticationProviderArgs,
): Promise<SaslOutcome> {
  const broker = `${host}:${port}`;
  logger?.debug?.(`Authenticate with SASL ${descriptor.name} (saslkit)`, { broker });
  try {
    const mechanism = await descriptor.createClient(credentials, {
      service: "kafka",
      host,
      port,
      secure,
      offered: [descriptor.name],
      options,
    });
    let message = mechanism.start() ?? new Uint8Array(0);
    for (let step = 0;; step++) {
      if (step >= MAX_STEPS) {
        throw new SaslError("malformed-challenge", `more than ${MAX_STEPS} SASL steps`);
      }
      const challenge = await exchange(saslAuthenticate, message);
      // The broker has nothing more to say: the mechanism decides whether that is success
      // (PLAIN), or success before the server proved itself (SCRAM: server-not-verified).
      if (challenge.length === 0) return done(mechanism.finish());
      message = await mechanism.next(challenge);
      // SCRAM answers the verified server-final message with nothing: the exchange is over.
      if (message.length === 0) return done(mechanism.finish());
    }
  } catch (error) {
    if (!(error instanceof SaslError)) throw error; // kafkajs's transport errors, as they are
    logger?.error?.(`SASL ${descriptor.name} authentication failed (saslkit)`, {
      broker,
      code: error.code,
      error: error.message,
    });
    Object.defineProperty(error, "retriable", { value: false, enumerable: true });
    throw error as KafkaSaslError;
  }

  function done(outcome: SaslOutcome): SaslOutcome {
    logger?.debug?.(`SASL ${descriptor.name} authentication successful (saslkit)`, { broker });
    return outcome;
  }
}

async function exchange(
  saslAuthenticate: KafkaAuthenticationProviderArgs["saslAuthenticate"],
  message: Uint8Array,
): Promise<Uint8Array> {
  const framed = Buffer.alloc(4 + message.length);
  framed.writeUInt32BE(message.length, 0);
  framed.set(message, 4);
  let answer: Uint8Array | void;
  try {
    answer = await saslAuthenticate<Uint8Array>({
      request: { encode: () => framed },
      // A promise, whatever kafkajs's types say: its path for brokers before Kafka 1.0 calls
      // `response.decode(raw).then(...)`.
      response: { decode: (raw) => Promise.resolve().then(() => unframe(raw)), parse: (d) => d },
    });
  } catch (error) {
    throw refusal(error);
  }
  return answer instanceof Uint8Array ? answer : new Uint8Array(0);
}

function unframe(raw: Buffer): Buffer {
  if (!(raw instanceof Uint8Array) || raw.length < 4) return Buffer.alloc(0);
  const length = raw.readInt32BE(0);
  if (length <= 0) return Buffer.alloc(0);
  if (length > MAX_MESSAGE || length > raw.length - 4) {
    throw new SaslError("malformed-challenge", "the broker's SASL message is cut short");
  }
  return raw.subarray(4, 4 + length);
}

// kafkajs's protocol errors say the broker refused; anything else (a connection closed, a
// timeout, which kafkajs may retry) passes through unchanged.
function refusal(error: unknown): unknown {
  if (error instanceof SaslError) return error;
  const e = error as { name?: string; code?: number; type?: string; message?: string };
  if (e?.name !== "KafkaJSProtocolError") return error;
  const what = `${e.type ?? "error"} (${e.code ?? "?"}): ${e.message ?? ""}`;
  return e.code === SASL_AUTHENTICATION_FAILED
    ? new SaslError("authentication-failed", `the broker refused the credentials: ${what}`)
    : new SaslError("server-rejected", `the broker refused the exchange: ${what}`);
}
