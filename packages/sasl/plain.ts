/**
 * The PLAIN mechanism (RFC 4616): the client sends `authzid NUL authcid NUL passwd` in one
 * message. Use it only inside TLS; the password crosses the wire as is.
 *
 * @module
 */

import { concat, decodeUtf8, utf8 } from "./_bytes.ts";
import { passwordCredentials, shown, verifyPassword } from "./_descriptor.ts";
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

// RFC 4616 §2: each of authzid, authcid and passwd is at most 255 octets of UTF-8.
const MAX_FIELD_OCTETS = 255;
// Three fields and two NULs, written out: an expression of MAX_FIELD_OCTETS would stay in a
// client-only bundle (esbuild cannot prove it free of side effects).
const MAX_MESSAGE_OCTETS = 767;

const PLAIN_PROPERTIES: MechanismProperties = /* @__PURE__ */ Object.freeze({
  sendsCleartextPassword: true,
  verifiesServer: false,
  offersSecurityLayer: false,
  clientFirst: true,
  channelBinding: false,
  carriesAuthorizationId: true,
});

/** Options of a {@linkcode PlainClient}. */
export interface PlainClientOptions {
  /** The authentication identity (authcid) whose password is checked. */
  readonly username: string;
  /** The password, sent as UTF-8. */
  readonly password: string;
  /** The identity to act as (authzid); omit it or leave it empty to act as `username`. */
  readonly authorizationId?: string;
}

/**
 * The client side of PLAIN (RFC 4616).
 *
 * `start()` returns the whole message as the initial response. A protocol that cannot send
 * an initial response (or a server that ignored it) gets an empty challenge, and `next()`
 * answers it with the same message once.
 *
 * @example Authenticating with PLAIN
 * ```ts
 * import { PlainClient } from "@saslkit/sasl";
 * import assert from "node:assert/strict";
 *
 * const client = new PlainClient({
 *   username: "Kurt",
 *   password: "xipj3plmq",
 *   authorizationId: "Ursel",
 * });
 * const initial = client.start();
 * assert.equal(new TextDecoder().decode(initial), "Ursel\0Kurt\0xipj3plmq");
 * const outcome = client.finish(); // the server answered "success"
 * assert.equal(outcome.authorizationId, "Ursel");
 * assert.equal(outcome.qop, "auth");
 * ```
 */
export class PlainClient implements ClientMechanism {
  /** The registered mechanism name. */
  readonly name: "PLAIN" = "PLAIN";
  /** PLAIN sends the password in the clear, never verifies the server and has no layer. */
  readonly properties: MechanismProperties = PLAIN_PROPERTIES;
  readonly #exchange: SingleMessageExchange;
  readonly #username: string;
  readonly #authorizationId: string;

  /**
   * Prepares the message; nothing is sent until {@linkcode PlainClient.start}.
   *
   * @param options The credentials.
   * @throws {SaslError} `invalid-argument` when the username or password is empty, a field
   * contains NUL, or a field is longer than 255 octets.
   */
  constructor(options: PlainClientOptions) {
    const authzid = options.authorizationId ?? "";
    const fields = [
      checkField("authorization id", authzid, true),
      checkField("username", options.username, false),
      checkField("password", options.password, false),
    ];
    const nul = new Uint8Array([0]);
    const message = concat(fields[0], nul, fields[1], nul, fields[2]);
    this.#exchange = new SingleMessageExchange("PLAIN", message);
    this.#username = options.username;
    this.#authorizationId = authzid;
  }

  /**
   * Returns the PLAIN message as the initial response.
   *
   * @returns `authzid NUL authcid NUL passwd` in UTF-8.
   * @throws {SaslError} `invalid-state` when called twice.
   */
  start(): Uint8Array {
    return this.#exchange.start();
  }

  /**
   * Answers an empty challenge with the same message, once; PLAIN has no other challenge.
   *
   * @param challenge The server's challenge; must be empty.
   * @returns The PLAIN message again.
   * @throws {SaslError} `malformed-challenge` for a non-empty challenge, `invalid-state`
   * before `start()` or on a second challenge.
   */
  next(challenge: Uint8Array): Uint8Array {
    return this.#exchange.next(challenge);
  }

  /**
   * Accepts the server's success report.
   *
   * @param additionalData Must be absent or empty; PLAIN has no success data.
   * @returns The outcome, with qop `auth`.
   * @throws {SaslError} `invalid-state` before the message was sent or after `finish()`,
   * `malformed-challenge` when success carries data.
   */
  finish(additionalData?: Uint8Array): SaslOutcome {
    this.#exchange.finish(additionalData);
    return outcomeOf(this.#username, this.#authorizationId);
  }
}

/** Options of a {@linkcode PlainServer}. */
export interface PlainServerOptions {
  /**
   * Checks a password. Receives the values after {@linkcode PlainServerOptions.prepare}.
   *
   * @param authenticationId The authcid the client sent.
   * @param password The password the client sent.
   * @returns Whether the password is right for that identity.
   */
  readonly verify: (authenticationId: string, password: string) => boolean;
  /**
   * Decides whether the authenticated identity may act as the requested one. Called only
   * after `verify` succeeded and only when the client sent a non-empty authzid. The default
   * allows only an authzid equal to the authcid.
   *
   * @param authenticationId The verified authcid.
   * @param authorizationId The authzid the client asked for.
   * @returns Whether to allow it.
   */
  readonly authorize?: (authenticationId: string, authorizationId: string) => boolean;
  /**
   * Prepares the authcid and the password before `verify` sees them. RFC 4616 says a server
   * SHOULD apply SASLprep (RFC 4013); pass `saslprep` from `@mongodb-js/saslprep` (or any
   * implementation) here. saslkit does not bundle one, because the npm packages that exist
   * need Node's `Buffer` and would break browser builds. A throw or an empty result fails
   * authentication. The default leaves both as sent.
   *
   * @param value The authcid or the password as sent.
   * @returns The prepared string.
   */
  readonly prepare?: (value: string) => string;
}

/**
 * The server side of PLAIN (RFC 4616).
 *
 * Parses the client's message strictly (exactly two NULs, non-empty authcid and password, at
 * most 255 octets each, valid UTF-8), then calls `verify` and `authorize`.
 *
 * @example Checking a PLAIN message
 * ```ts
 * import { PlainServer } from "@saslkit/sasl";
 * import assert from "node:assert/strict";
 *
 * const server = new PlainServer({
 *   verify: (user, password) => user === "Kurt" && password === "xipj3plmq",
 *   authorize: (user, authzid) => user === "Kurt" && authzid === "Ursel",
 *   prepare: (value) => value.normalize("NFKC"), // or saslprep from @mongodb-js/saslprep
 * });
 * const step = server.next(new TextEncoder().encode("Ursel\0Kurt\0xipj3plmq"));
 * assert.equal(step.done, true);
 * assert.equal(server.outcome().authenticationId, "Kurt");
 * assert.equal(server.outcome().authorizationId, "Ursel");
 * ```
 */
export class PlainServer implements ServerMechanism {
  /** The registered mechanism name. */
  readonly name: "PLAIN" = "PLAIN";
  readonly #exchange: SingleMessageServerExchange<SaslOutcome> = new SingleMessageServerExchange(
    "PLAIN",
    (message) => this.#check(message),
  );
  readonly #options: PlainServerOptions;

  /**
   * Creates a server for one exchange.
   *
   * @param options The password check, and optionally the authorization policy and SASLprep.
   */
  constructor(options: PlainServerOptions) {
    this.#options = options;
  }

  /**
   * Takes the client's message. Without an initial response, returns an empty challenge
   * first.
   *
   * @param response The client's message, or `undefined` when it sent no initial response.
   * @returns An empty challenge, or `done`.
   * @throws {SaslError} `malformed-response`, `message-too-long`, `authentication-failed`,
   * `authorization-failed`, or `invalid-state` when called out of order.
   */
  next(response: Uint8Array | undefined): ServerStep {
    return this.#exchange.next(response);
  }

  /**
   * What the exchange established.
   *
   * @returns The authcid (prepared), the authzid when one was sent, and qop `auth`.
   * @throws {SaslError} `invalid-state` before the exchange is done.
   */
  outcome(): SaslOutcome {
    return this.#exchange.done();
  }

  #check(message: Uint8Array): SaslOutcome {
    if (message.length > MAX_MESSAGE_OCTETS) {
      throw new SaslError("message-too-long", "PLAIN message exceeds 767 octets");
    }
    const first = message.indexOf(0);
    const second = first < 0 ? -1 : message.indexOf(0, first + 1);
    if (second < 0 || message.indexOf(0, second + 1) >= 0) {
      throw new SaslError("malformed-response", "PLAIN message must contain exactly two NULs");
    }
    const authzid = readField("authorization id", message.subarray(0, first), true);
    const authcid = readField("authentication id", message.subarray(first + 1, second), false);
    const password = readField("password", message.subarray(second + 1), false);

    const prepare = this.#options.prepare;
    let preparedId = authcid;
    let preparedPassword = password;
    if (prepare !== undefined) {
      try {
        preparedId = prepare(authcid);
        preparedPassword = prepare(password);
      } catch {
        // The cause is dropped: it may quote a character of the password.
        throw new SaslError("authentication-failed", "SASLprep rejected the credentials");
      }
      if (preparedId === "" || preparedPassword === "") {
        throw new SaslError("authentication-failed", "SASLprep left an empty credential");
      }
    }
    if (!this.#options.verify(preparedId, preparedPassword)) {
      throw new SaslError("authentication-failed", "wrong username or password");
    }
    if (authzid !== "") {
      // By default one may act only as oneself, compared in the same prepared form.
      const asSelf = (id: string, as: string) => {
        try {
          return id === (prepare ? prepare(as) : as);
        } catch {
          return false;
        }
      };
      const authorize = this.#options.authorize ?? asSelf;
      if (!authorize(preparedId, authzid)) {
        throw new SaslError(
          "authorization-failed",
          "the authentication identity may not act as the requested authorization identity",
        );
      }
    }
    return outcomeOf(preparedId, authzid);
  }
}

function outcomeOf(authenticationId: string, authorizationId: string): SaslOutcome {
  return authorizationId === ""
    ? { mechanism: "PLAIN", authenticationId, qop: "auth" }
    : { mechanism: "PLAIN", authenticationId, authorizationId, qop: "auth" };
}

function checkField(what: string, value: string, mayBeEmpty: boolean): Uint8Array {
  if (!mayBeEmpty && value === "") {
    throw new SaslError("invalid-argument", `PLAIN ${what} must not be empty`);
  }
  if (value.includes("\0")) {
    throw new SaslError("invalid-argument", `PLAIN ${what} must not contain NUL`);
  }
  const bytes = utf8(value);
  if (bytes.length > MAX_FIELD_OCTETS) {
    throw new SaslError("invalid-argument", `PLAIN ${what} exceeds 255 octets`);
  }
  return bytes;
}

function readField(what: string, bytes: Uint8Array, mayBeEmpty: boolean): string {
  if (!mayBeEmpty && bytes.length === 0) {
    throw new SaslError("malformed-response", `PLAIN ${what} is empty`);
  }
  if (bytes.length > MAX_FIELD_OCTETS) {
    throw new SaslError("message-too-long", `PLAIN ${what} exceeds 255 octets`);
  }
  const text = decodeUtf8(bytes);
  if (text === undefined) {
    throw new SaslError("malformed-response", `PLAIN ${what} is not valid UTF-8`);
  }
  return text;
}

/**
 * PLAIN in the mechanism registry: password credentials; the server side checks against
 * `store.password`; a transcript shows the identities and hides the password.
 *
 * @example
 * ```ts
 * import { plainMechanism } from "@saslkit/sasl";
 * import assert from "node:assert/strict";
 *
 * assert.equal(plainMechanism.properties.sendsCleartextPassword, true);
 * const server = plainMechanism.createServer(
 *   { password: (user) => user === "tim" ? "tanstaaf" : undefined },
 *   { service: "smtp", host: "mail.example.com" },
 * );
 * const step = await server.next(new TextEncoder().encode("\0tim\0tanstaaf"));
 * assert.equal(step.done, true);
 * ```
 */
export const plainMechanism: MechanismDescriptor = /* @__PURE__ */ defineMechanism({
  name: "PLAIN",
  properties: PLAIN_PROPERTIES,
  credentialKind: "password",
  createClient(credentials) {
    const { username, password, authorizationId } = passwordCredentials("PLAIN", credentials);
    return new PlainClient({ username, password, authorizationId });
  },
  createServer(store) {
    return new PlainServer({ verify: verifyPassword(store, "PLAIN"), authorize: store.authorize });
  },
  redact(message) {
    // authzid NUL authcid NUL passwd: the identities stay, the password never does.
    return shown(message, (text) => {
      const first = text.indexOf("\0");
      const second = first < 0 ? -1 : text.indexOf("\0", first + 1);
      return second < 0 ? "***" : `${text.slice(0, second + 1)}***`;
    });
  },
});
