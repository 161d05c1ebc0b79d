/**
 * The ANONYMOUS mechanism (RFC 4505): the client asks for anonymous access and may send trace
 * information — an email address or an opaque string without `@` — that the server can log.
 * Nothing is proved and no secret crosses the wire.
 *
 * @module
 */

import { decodeUtf8, utf8 } from "./_bytes.ts";
import { lookup, shown } from "./_descriptor.ts";
import { SaslError } from "./error.ts";
import { SingleMessageExchange, SingleMessageServerExchange } from "./_single_message.ts";
import { defineMechanism, type MechanismDescriptor } from "./registry.ts";
import type {
  ClientMechanism,
  MechanismProperties,
  SaslOutcome,
  ServerMechanism,
  ServerStep,
} from "./mechanism.ts";

// RFC 4505 §2: at most 255 characters, which is at most 1020 octets of UTF-8.
const MAX_TRACE_CHARACTERS = 255;
const MAX_TRACE_OCTETS = 4 * MAX_TRACE_CHARACTERS;

/**
 * The identity an ANONYMOUS exchange reports. RFC 4505 defines none (the client stays
 * anonymous; the trace is not an identity); saslkit uses `anonymous`, the user name that
 * anonymous logins traditionally used (RFC 4505, Abstract), and the one Dovecot 2.3 reports
 * with `auth_anonymous_username = anonymous`.
 *
 * @example
 * ```ts
 * import { ANONYMOUS_IDENTITY, AnonymousServer } from "@saslkit/sasl";
 * import assert from "node:assert/strict";
 *
 * const server = new AnonymousServer();
 * server.next(new Uint8Array(0));
 * assert.equal(server.outcome().authenticationId, ANONYMOUS_IDENTITY);
 * ```
 */
export const ANONYMOUS_IDENTITY = "anonymous";

const ANONYMOUS_PROPERTIES: MechanismProperties = Object.freeze({
  sendsCleartextPassword: false,
  verifiesServer: false,
  offersSecurityLayer: false,
  clientFirst: true,
  channelBinding: false,
  carriesAuthorizationId: false,
});

const ATEXT = "[A-Za-z0-9!#$%&'*+\\-/=?^_`{|}~]";
const DOT_ATOM = `${ATEXT}+(?:\\.${ATEXT}+)*`;
const QUOTED_STRING = '"(?:[\\x20\\x21\\x23-\\x5b\\x5d-\\x7e]|\\\\[\\x20-\\x7e])*"';
const DOMAIN_LITERAL = "\\[[\\x21-\\x5a\\x5e-\\x7e]*\\]";
// RFC 4505 §2 `email`: an RFC 2822 addr-spec without comments or folding white space.
const ADDR_SPEC = new RegExp(
  `^(?:${DOT_ATOM}|${QUOTED_STRING})@(?:${DOT_ATOM}|${DOMAIN_LITERAL})$`,
);

/**
 * Why a trace breaks RFC 4505, or `undefined` when it is fine: 1 to 255 characters, none of
 * them prohibited by the `trace` stringprep profile (§3: ASCII and other control characters,
 * private use, non-characters, surrogates, U+FFF9–FFFD, deprecated display controls, tags),
 * and an RFC 2822 addr-spec when it contains `@` (the `email` form; the `token` form has no
 * `@`). The profile's bidirectional rule and its Unicode 3.2 unassigned code points are not
 * checked.
 */
function traceProblem(trace: string): string | undefined {
  let count = 0;
  for (const char of trace) {
    count++;
    if (isProhibited(char.codePointAt(0)!)) {
      return "a character the trace profile prohibits (control, private use, non-character…)";
    }
  }
  if (count === 0) return "no characters";
  if (count > MAX_TRACE_CHARACTERS) return "more than 255 characters";
  if (trace.includes("@") && !ADDR_SPEC.test(trace)) {
    return "an @ but is not an email address (addr-spec)";
  }
  return undefined;
}

// RFC 3454 tables C.2.1, C.2.2, C.3, C.4, C.5, C.6, C.8 and C.9, as RFC 4505 §3 lists them.
function isProhibited(cp: number): boolean {
  return cp <= 0x1f || (cp >= 0x7f && cp <= 0x9f) || cp === 0x340 || cp === 0x341 ||
    cp === 0x6dd || cp === 0x70f || cp === 0x180e || (cp >= 0x200c && cp <= 0x200f) ||
    (cp >= 0x2028 && cp <= 0x202e) || (cp >= 0x2060 && cp <= 0x2063) ||
    (cp >= 0x206a && cp <= 0x206f) || (cp >= 0xd800 && cp <= 0xf8ff) ||
    (cp >= 0xfdd0 && cp <= 0xfdef) || cp === 0xfeff || (cp >= 0xfff9 && cp <= 0xfffd) ||
    (cp & 0xfffe) === 0xfffe || (cp >= 0x1d173 && cp <= 0x1d17a) || cp === 0xe0001 ||
    (cp >= 0xe0020 && cp <= 0xe007f) || cp >= 0xf0000;
}

/** Options of an {@linkcode AnonymousClient}. */
export interface AnonymousClientOptions {
  /**
   * Trace information for the server's logs: an email address, or an opaque string without
   * `@`, of 1 to 255 characters. Omit it (or leave it empty) to send an empty message. Send
   * an address only with its owner's consent (RFC 4505 §2).
   */
  readonly trace?: string;
}

/**
 * The client side of ANONYMOUS (RFC 4505).
 *
 * `start()` returns the trace in UTF-8 (possibly empty) as the initial response. A protocol
 * that cannot send an initial response gets an empty challenge, and `next()` answers it with
 * the same message once.
 *
 * @example The trace of RFC 4505 §4
 * ```ts
 * import { AnonymousClient } from "@saslkit/sasl";
 * import assert from "node:assert/strict";
 *
 * const client = new AnonymousClient({ trace: "sirhc" });
 * const message = client.start();
 * assert.equal(new TextDecoder().decode(message), "sirhc"); // c2lyaGM= in IMAP
 * assert.equal(client.finish().authenticationId, "anonymous");
 * ```
 */
export class AnonymousClient implements ClientMechanism {
  /** The registered mechanism name. */
  readonly name: "ANONYMOUS" = "ANONYMOUS";
  /** ANONYMOUS sends no secret, never verifies the server and has no layer. */
  readonly properties: MechanismProperties = ANONYMOUS_PROPERTIES;
  readonly #exchange: SingleMessageExchange;

  /**
   * Prepares the message; nothing is sent until {@linkcode AnonymousClient.start}.
   *
   * @param options The trace, if any.
   * @throws {SaslError} `invalid-argument` when the trace breaks RFC 4505: more than 255
   * characters, a prohibited character, or an `@` in something that is not an email address.
   */
  constructor(options: AnonymousClientOptions = {}) {
    const trace = options.trace ?? "";
    if (typeof trace !== "string") {
      throw new SaslError("invalid-argument", "ANONYMOUS trace must be a string");
    }
    const problem = trace === "" ? undefined : traceProblem(trace);
    if (problem !== undefined) {
      throw new SaslError("invalid-argument", `ANONYMOUS trace has ${problem}`);
    }
    this.#exchange = new SingleMessageExchange("ANONYMOUS", utf8(trace));
  }

  /**
   * Returns the trace as the initial response.
   *
   * @returns The trace in UTF-8; empty when there is none.
   * @throws {SaslError} `invalid-state` when called twice.
   */
  start(): Uint8Array {
    return this.#exchange.start();
  }

  /**
   * Answers an empty challenge with the same message, once; ANONYMOUS has no other challenge.
   *
   * @param challenge The server's challenge; must be empty.
   * @returns The trace again.
   * @throws {SaslError} `malformed-challenge` for a non-empty challenge, `invalid-state`
   * before `start()` or on a second challenge.
   */
  next(challenge: Uint8Array): Uint8Array {
    return this.#exchange.next(challenge);
  }

  /**
   * Accepts the server's success report.
   *
   * @param additionalData Must be absent or empty; ANONYMOUS has no success data.
   * @returns The outcome, with authentication identity {@linkcode ANONYMOUS_IDENTITY} and
   * qop `auth`.
   * @throws {SaslError} `invalid-state` before the message was sent or after `finish()`,
   * `malformed-challenge` when success carries data.
   */
  finish(additionalData?: Uint8Array): SaslOutcome {
    this.#exchange.finish(additionalData);
    return { mechanism: "ANONYMOUS", authenticationId: ANONYMOUS_IDENTITY, qop: "auth" };
  }
}

/** Options of an {@linkcode AnonymousServer}. */
export interface AnonymousServerOptions {
  /**
   * Decides whether to let the client in, given its trace (already checked against RFC 4505;
   * `undefined` when it sent none). Log the trace here if you keep one. The default lets
   * everyone in.
   *
   * @param trace The trace the client sent, or `undefined`.
   * @returns Whether to allow anonymous access.
   */
  readonly checkTrace?: (trace: string | undefined) => boolean;
}

/**
 * The server side of ANONYMOUS (RFC 4505).
 *
 * Reads the trace strictly (valid UTF-8, the rules of {@linkcode AnonymousClient}'s trace) and
 * asks `checkTrace`. The outcome's authentication identity is {@linkcode ANONYMOUS_IDENTITY};
 * the trace is available as {@linkcode AnonymousServer.trace}.
 *
 * @example The exchange of RFC 4505 §4
 * ```ts
 * import { AnonymousServer } from "@saslkit/sasl";
 * import assert from "node:assert/strict";
 *
 * const logged: (string | undefined)[] = [];
 * const server = new AnonymousServer({ checkTrace: (trace) => (logged.push(trace), true) });
 * assert.deepEqual(server.next(undefined).challenge, new Uint8Array(0)); // S: +
 * assert.equal(server.next(new TextEncoder().encode("sirhc")).done, true); // C: c2lyaGM=
 * assert.equal(server.outcome().authenticationId, "anonymous");
 * assert.deepEqual(logged, ["sirhc"]);
 * ```
 */
export class AnonymousServer implements ServerMechanism {
  /** The registered mechanism name. */
  readonly name: "ANONYMOUS" = "ANONYMOUS";
  readonly #exchange: SingleMessageServerExchange<string | undefined> =
    new SingleMessageServerExchange(
      "ANONYMOUS",
      (message) => this.#check(message),
    );
  readonly #options: AnonymousServerOptions;

  /**
   * Creates a server for one exchange.
   *
   * @param options Optionally, the trace check.
   */
  constructor(options: AnonymousServerOptions = {}) {
    this.#options = options;
  }

  /** The trace the client sent, once the exchange is done; `undefined` when it sent none. */
  get trace(): string | undefined {
    return this.#exchange.result;
  }

  /**
   * Takes the client's message. Without an initial response, returns an empty challenge
   * first.
   *
   * @param response The trace (possibly empty), or `undefined` when the client sent no
   * initial response.
   * @returns An empty challenge, or `done`.
   * @throws {SaslError} `malformed-response` for a trace that breaks RFC 4505,
   * `message-too-long` beyond 1020 octets, `authentication-failed` when `checkTrace` says
   * no or throws, or `invalid-state` when called out of order.
   */
  next(response: Uint8Array | undefined): ServerStep {
    return this.#exchange.next(response);
  }

  /**
   * What the exchange established.
   *
   * @returns Authentication identity {@linkcode ANONYMOUS_IDENTITY}, qop `auth`.
   * @throws {SaslError} `invalid-state` before the exchange is done.
   */
  outcome(): SaslOutcome {
    this.#exchange.done();
    return { mechanism: "ANONYMOUS", authenticationId: ANONYMOUS_IDENTITY, qop: "auth" };
  }

  #check(message: Uint8Array): string | undefined {
    const trace = readTrace(message);
    let allowed: boolean;
    try {
      allowed = this.#options.checkTrace?.(trace) ?? true;
    } catch (error) {
      throw new SaslError("authentication-failed", "ANONYMOUS trace check failed", {
        cause: error,
      });
    }
    if (allowed !== true) {
      throw new SaslError("authentication-failed", "anonymous access refused");
    }
    return trace;
  }
}

function readTrace(message: Uint8Array): string | undefined {
  if (message.length === 0) return undefined;
  if (message.length > MAX_TRACE_OCTETS) {
    throw new SaslError("message-too-long", "ANONYMOUS trace exceeds 1020 octets");
  }
  const trace = decodeUtf8(message);
  if (trace === undefined) {
    throw new SaslError("malformed-response", "ANONYMOUS trace is not valid UTF-8");
  }
  const problem = traceProblem(trace);
  if (problem !== undefined) {
    throw new SaslError(
      problem === "more than 255 characters" ? "message-too-long" : "malformed-response",
      `ANONYMOUS trace has ${problem}`,
    );
  }
  return trace;
}

/**
 * The ANONYMOUS descriptor for the registry.
 *
 * `createClient` takes `{ kind: "anonymous", trace? }`. `createServer` needs
 * `store.anonymous`, which receives the trace (`""` when the client sent none) and decides;
 * without it ANONYMOUS is refused (`invalid-argument`). `redact` shows the trace as it is:
 * it is not secret.
 *
 * @example
 * ```ts
 * import { anonymousMechanism } from "@saslkit/sasl";
 * import assert from "node:assert/strict";
 *
 * const context = { service: "imap", host: "imap.example.com" };
 * const traces: string[] = [];
 * const server = anonymousMechanism.createServer(
 *   { anonymous: (trace) => (traces.push(trace), true) },
 *   context,
 * );
 * const client = await anonymousMechanism.createClient({ kind: "anonymous", trace: "sirhc" }, context);
 * assert.equal((await server.next(client.start()!)).done, true);
 * assert.deepEqual(traces, ["sirhc"]);
 * assert.equal(anonymousMechanism.redact(new TextEncoder().encode("sirhc"), {}), "sirhc");
 * ```
 */
export const anonymousMechanism: MechanismDescriptor = defineMechanism({
  name: "ANONYMOUS",
  properties: ANONYMOUS_PROPERTIES,
  credentialKind: "anonymous",
  createClient(credentials) {
    if (credentials?.kind !== "anonymous") {
      throw new SaslError("invalid-argument", 'ANONYMOUS takes credentials of kind "anonymous"');
    }
    return new AnonymousClient({ trace: credentials.trace });
  },
  createServer(store) {
    const allow = lookup("ANONYMOUS", store, "anonymous");
    return new AnonymousServer({ checkTrace: (trace) => allow(trace ?? "") });
  },
  redact(message) {
    return shown(message, (text) => text);
  },
});
