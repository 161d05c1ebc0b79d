/**
 * The XOAUTH2 mechanism (Google's, also spoken by Microsoft, Yahoo and others): the client
 * sends `user=<user>^Aauth=Bearer <token>^A^A`. A server that rejects the token answers with
 * a JSON error challenge, the client acknowledges it with an empty response, and the server
 * then reports failure. Never standardized; OAUTHBEARER (RFC 7628) is its successor. Anyone
 * who sees the token can reuse it until it expires: use it only inside TLS.
 *
 * @module
 */

import { utf8 } from "./_bytes.ts";
import { lookup, shown } from "./_descriptor.ts";
import {
  checkIdentity,
  checkToken,
  encodeErrorChallenge,
  isPromiseLike,
  MAX_CLIENT_MESSAGE_OCTETS,
  oauthCredentials,
  type OAuthErrorDetails,
  oauthErrorOf,
  parseErrorChallenge,
  parseKvPairs,
  readBearer,
  readIdentity,
  readValidation,
  redactPairs,
  resolveToken,
  type TokenValidation,
  type TokenValidator,
  validatorFailure,
} from "./_oauth.ts";
import { SaslError } from "./error.ts";
import { defineMechanism, type MechanismDescriptor } from "./registry.ts";
import type {
  ClientMechanism,
  MechanismProperties,
  SaslOutcome,
  ServerMechanism,
  ServerStep,
} from "./mechanism.ts";

export type {
  OAuthErrorDetails,
  OAuthMechanismName,
  TokenRequest,
  TokenValidation,
  TokenValidator,
} from "./_oauth.ts";

/**
 * The bearer token crosses the wire in a form anyone who sees it can reuse, so XOAUTH2 counts
 * as sending a cleartext password ("password or bearer token").
 */
const XOAUTH2_PROPERTIES: MechanismProperties = Object.freeze({
  sendsCleartextPassword: true,
  verifiesServer: false,
  offersSecurityLayer: false,
  clientFirst: true,
  channelBinding: false,
  carriesAuthorizationId: false,
});

/** Options of an {@linkcode XOAuth2Client}. */
export interface XOAuth2ClientOptions {
  /** The account the token is for, sent as `user=` (usually the email address). */
  readonly username: string;
  /** The OAuth 2.0 access token, sent as `auth=Bearer <token>`; printable ASCII, no spaces. */
  readonly token: string;
}

type ClientState = "initial" | "sent" | "resent" | "error-acknowledged" | "finished" | "failed";

/**
 * The client side of XOAUTH2.
 *
 * `start()` returns `user=<username>^Aauth=Bearer <token>^A^A` (`^A` is %x01). When the server
 * answers with its JSON error challenge (such as Gmail's
 * `{"status":"401","schemes":"bearer","scope":"https://mail.google.com/"}`), `next()` returns
 * the empty response Google's protocol asks for and keeps the parsed error in
 * {@linkcode XOAuth2Client.serverError}; the server's failure reply follows, and a protocol
 * layer reads `serverError` to learn whether a fresh token may help (`invalid-token`).
 *
 * @example Google's documented example, and its error challenge
 * ```ts
 * import { XOAuth2Client } from "@saslkit/sasl";
 * import assert from "node:assert/strict";
 *
 * const options = {
 *   username: "someuser@example.com",
 *   token: "ya29.vF9dft4qmTc2Nvb3RlckBhdHRhdmlzdGEuY29tCg",
 * };
 * const client = new XOAuth2Client(options);
 * assert.equal(
 *   new TextDecoder().decode(client.start()),
 *   "user=someuser@example.com\x01auth=Bearer ya29.vF9dft4qmTc2Nvb3RlckBhdHRhdmlzdGEuY29tCg\x01\x01",
 * );
 * const error = new TextEncoder().encode(
 *   '{"status":"401","schemes":"bearer mac","scope":"https://mail.google.com/"}\n',
 * );
 * assert.deepEqual(client.next(error), new Uint8Array(0)); // the empty response
 * assert.equal(client.serverError?.code, "invalid-token"); // refresh the token and retry
 * ```
 */
export class XOAuth2Client implements ClientMechanism {
  /** The registered mechanism name. */
  readonly name: "XOAUTH2" = "XOAUTH2";
  /**
   * XOAUTH2 sends a bearer token anyone who sees it can reuse (`sendsCleartextPassword`),
   * never verifies the server and has no layer.
   */
  readonly properties: MechanismProperties = XOAUTH2_PROPERTIES;
  #state: ClientState = "initial";
  #message: Uint8Array;
  #serverErrorDetails: OAuthErrorDetails | undefined;
  #serverError: SaslError | undefined;
  readonly #username: string;

  /**
   * Prepares the message; nothing is sent until {@linkcode XOAuth2Client.start}.
   *
   * @param options The user and the token.
   * @throws {SaslError} `invalid-argument` for an empty username, one with control characters
   * or longer than 1024 octets, or a token that is empty or outside printable ASCII.
   */
  constructor(options: XOAuth2ClientOptions) {
    const username = checkIdentity("XOAUTH2", "username", options.username, false);
    const token = checkToken("XOAUTH2", options.token);
    this.#message = utf8(`user=${username}\x01auth=Bearer ${token}\x01\x01`);
    if (this.#message.length > MAX_CLIENT_MESSAGE_OCTETS) {
      this.#wipe();
      throw new SaslError(
        "invalid-argument",
        `XOAUTH2 message exceeds ${MAX_CLIENT_MESSAGE_OCTETS} octets`,
      );
    }
    this.#username = username;
  }

  /**
   * The error the server reported in its JSON error challenge, once it has sent one:
   * `invalid-token` for status `401` (or `invalid_token`), where a fresh token may help;
   * `oauth-error` for any other status. The message quotes status and scope, never the
   * token. `undefined` while the server has reported nothing.
   */
  get serverError(): SaslError | undefined {
    return this.#serverError;
  }

  /** The members of the server's JSON error challenge, once it has sent one. */
  get serverErrorDetails(): OAuthErrorDetails | undefined {
    return this.#serverErrorDetails;
  }

  /**
   * Returns the message as the initial response.
   *
   * @returns `user=…^Aauth=Bearer …^A^A` in UTF-8.
   * @throws {SaslError} `invalid-state` when called twice.
   */
  start(): Uint8Array {
    if (this.#state !== "initial") {
      throw new SaslError("invalid-state", "start() may be called only once");
    }
    this.#state = "sent";
    return this.#message.slice();
  }

  /**
   * Answers a challenge: an empty one (the protocol could not carry the initial response)
   * with the message, once; the JSON error challenge with an empty response.
   *
   * @param challenge The server's challenge.
   * @returns The message, or an empty response after an error challenge.
   * @throws {SaslError} `malformed-challenge` or `message-too-long` for a challenge that is
   * not a JSON error object of at most 4096 octets with a string `status`; `invalid-state`
   * before `start()`, after the error was acknowledged, or on a second empty challenge.
   */
  next(challenge: Uint8Array): Uint8Array {
    switch (this.#state) {
      case "initial":
        throw new SaslError("invalid-state", "next() called before start()");
      case "error-acknowledged":
        throw new SaslError(
          "invalid-state",
          "the server already reported an error; only its failure reply may follow",
        );
      case "finished":
      case "failed":
        throw new SaslError("invalid-state", "the XOAUTH2 exchange is over");
    }
    if (challenge.length === 0) {
      if (this.#state === "resent") {
        throw new SaslError("invalid-state", "XOAUTH2 expects at most one empty challenge");
      }
      this.#state = "resent";
      return this.#message.slice();
    }
    let details: OAuthErrorDetails;
    try {
      details = parseErrorChallenge("XOAUTH2", challenge);
    } catch (error) {
      this.#state = "failed";
      this.#wipe();
      throw error;
    }
    this.#serverErrorDetails = details;
    this.#serverError = oauthErrorOf("XOAUTH2", details);
    this.#state = "error-acknowledged";
    this.#wipe();
    return new Uint8Array(0);
  }

  /**
   * Accepts the server's success report.
   *
   * @param additionalData Must be absent or empty; XOAUTH2 has no success data.
   * @returns The outcome: the username as authentication identity, qop `auth`.
   * @throws {SaslError} `invalid-state` before the message was sent or after `finish()`;
   * `malformed-challenge` when success carries data or follows an error challenge.
   */
  finish(additionalData?: Uint8Array): SaslOutcome {
    if (this.#state === "error-acknowledged") {
      this.#state = "failed";
      throw new SaslError(
        "malformed-challenge",
        "XOAUTH2 server reported success after an error challenge",
      );
    }
    if (this.#state !== "sent" && this.#state !== "resent") {
      throw new SaslError("invalid-state", "finish() called before the token was sent");
    }
    if (additionalData !== undefined && additionalData.length !== 0) {
      this.#state = "failed";
      this.#wipe();
      throw new SaslError("malformed-challenge", "XOAUTH2 success carries no additional data");
    }
    this.#state = "finished";
    this.#wipe();
    return { mechanism: "XOAUTH2", authenticationId: this.#username, qop: "auth" };
  }

  #wipe(): void {
    this.#message.fill(0);
    this.#message = new Uint8Array(0);
  }
}

/** Options of an {@linkcode XOAuth2Server}. */
export interface XOAuth2ServerOptions {
  /**
   * Checks the token and says whose it is, or which error to report (sent to the client as
   * the JSON error challenge, with `schemes` `bearer` unless the error names others). The
   * request's `authorizationId` is the `user=` value. May return a promise. A throw fails the
   * exchange with `authentication-failed` (a thrown `SaslError` passes as it is), the thrown
   * value as its `cause`.
   */
  readonly validate: TokenValidator;
  /**
   * Decides whether the token's owner may log in as `user=` when the two differ. The default
   * allows only a `user=` equal to the identity `validate` returned.
   *
   * @param authenticationId The identity `validate` returned.
   * @param user The `user=` the client sent.
   * @returns Whether to allow it.
   */
  readonly authorize?: (authenticationId: string, user: string) => boolean;
}

type ServerState = "initial" | "challenged" | "validating" | "error-sent" | "done" | "failed";

/**
 * The server side of XOAUTH2.
 *
 * Parses the message strictly: exactly the pairs `user=` (non-empty UTF-8 without control
 * characters, at most 1024 octets) and `auth=` (`Bearer` SP token), in either order, each
 * ended by %x01, then one more %x01; any other key is refused. At most 64 KiB in all.
 *
 * A token the validator rejects is answered with the JSON error challenge; the client must
 * acknowledge it with an empty response, and `next()` then throws `invalid-token` (status
 * `401` or `invalid_token`) or `oauth-error`, for the protocol's failure reply.
 *
 * @example A token accepted, and one rejected the way Gmail rejects it
 * ```ts
 * import { SaslError, XOAuth2Server } from "@saslkit/sasl";
 * import assert from "node:assert/strict";
 *
 * const server = () =>
 *   new XOAuth2Server({
 *     validate: (token, { authorizationId }) =>
 *       token === "ya29.good" ? { authenticationId: authorizationId! }
 *       : { error: { status: "401", scope: "https://mail.google.com/" } },
 *   });
 * const text = new TextEncoder();
 * const good = server();
 * assert.equal((await good.next(text.encode("user=a@example.com\x01auth=Bearer ya29.good\x01\x01"))).done, true);
 * assert.equal(good.outcome().authenticationId, "a@example.com");
 *
 * const bad = server();
 * const step = await bad.next(text.encode("user=a@example.com\x01auth=Bearer ya29.old\x01\x01"));
 * assert.equal(new TextDecoder().decode(step.challenge),
 *   '{"status":"401","schemes":"bearer","scope":"https://mail.google.com/"}');
 * await assert.rejects(async () => await bad.next(new Uint8Array(0)),
 *   (e) => e instanceof SaslError && e.code === "invalid-token");
 * ```
 */
export class XOAuth2Server implements ServerMechanism {
  /** The registered mechanism name. */
  readonly name: "XOAUTH2" = "XOAUTH2";
  #state: ServerState = "initial";
  #outcome: SaslOutcome | undefined;
  #error: OAuthErrorDetails | undefined;
  readonly #options: XOAuth2ServerOptions;

  /**
   * Creates a server for one exchange.
   *
   * @param options The token validator, and optionally the authorization policy.
   * @throws {SaslError} `invalid-argument` when `validate` is not a function.
   */
  constructor(options: XOAuth2ServerOptions) {
    if (typeof options?.validate !== "function") {
      throw new SaslError("invalid-argument", "XOAUTH2 server needs a validate function");
    }
    this.#options = options;
  }

  /**
   * Takes the client's message. Without an initial response, returns an empty challenge
   * first. Returns a promise exactly when the validator does.
   *
   * @param response The client's message, or `undefined` when it sent no initial response.
   * @returns An empty challenge, the JSON error challenge, or `done`.
   * @throws {SaslError} `malformed-response` or `message-too-long` for a message outside the
   * format or the limits; `authorization-failed` when the token's owner may not log in as
   * `user=`; `invalid-token` or `oauth-error` after the client acknowledged an error
   * challenge; `authentication-failed` when the validator throws; `invalid-argument` when it
   * returns something else than a verdict; `invalid-state` when called out of order.
   */
  next(response: Uint8Array | undefined): ServerStep | Promise<ServerStep> {
    if (response === undefined) {
      if (this.#state !== "initial") {
        throw new SaslError("invalid-state", "no response given after the challenge");
      }
      this.#state = "challenged";
      return { challenge: new Uint8Array(0), done: false };
    }
    if (this.#state === "error-sent") {
      this.#state = "failed";
      if (response.length !== 0) {
        throw new SaslError(
          "malformed-response",
          "XOAUTH2 client must acknowledge the error challenge with an empty response",
        );
      }
      throw oauthErrorOf("XOAUTH2", this.#error!);
    }
    if (this.#state !== "initial" && this.#state !== "challenged") {
      throw new SaslError(
        "invalid-state",
        this.#state === "validating" ? "the token is being validated" : "the exchange is over",
      );
    }
    let parsed: { user: string; token: string };
    let verdict: TokenValidation | Promise<TokenValidation>;
    try {
      parsed = parseMessage(response);
      this.#state = "validating";
      try {
        verdict = this.#options.validate(parsed.token, {
          mechanism: "XOAUTH2",
          authorizationId: parsed.user,
        });
      } catch (error) {
        throw validatorFailure("XOAUTH2", error);
      }
    } catch (error) {
      this.#state = "failed";
      throw error;
    }
    if (isPromiseLike(verdict)) {
      return Promise.resolve(verdict).then(
        (result) => this.#conclude(parsed.user, result),
        (error) => {
          this.#state = "failed";
          throw validatorFailure("XOAUTH2", error);
        },
      );
    }
    return this.#conclude(parsed.user, verdict);
  }

  /**
   * What the exchange established.
   *
   * @returns The identity the validator returned, `user=` as authorization identity when it
   * differs, qop `auth`.
   * @throws {SaslError} `invalid-state` before the exchange is done.
   */
  outcome(): SaslOutcome {
    if (this.#state !== "done" || this.#outcome === undefined) {
      throw new SaslError("invalid-state", "the XOAUTH2 exchange is not done");
    }
    return this.#outcome;
  }

  #conclude(user: string, result: unknown): ServerStep {
    try {
      const verdict = readValidation("XOAUTH2", result);
      if ("error" in verdict) {
        const challenge = encodeErrorChallenge("XOAUTH2", {
          ...verdict.error,
          schemes: verdict.error?.schemes ?? "bearer",
        });
        this.#error = parseErrorChallenge("XOAUTH2", challenge);
        this.#state = "error-sent";
        return { challenge, done: false };
      }
      const { authenticationId } = verdict;
      if (user !== authenticationId) {
        const authorize = this.#options.authorize ?? (() => false);
        if (!authorize(authenticationId, user)) {
          throw new SaslError(
            "authorization-failed",
            "the token's owner may not log in as the user the client named",
          );
        }
      }
      this.#outcome = user === authenticationId
        ? { mechanism: "XOAUTH2", authenticationId, qop: "auth" }
        : { mechanism: "XOAUTH2", authenticationId, authorizationId: user, qop: "auth" };
      this.#state = "done";
      return { done: true };
    } catch (error) {
      this.#state = "failed";
      throw error;
    }
  }
}

function parseMessage(message: Uint8Array): { user: string; token: string } {
  if (message.length > MAX_CLIENT_MESSAGE_OCTETS) {
    throw new SaslError(
      "message-too-long",
      `XOAUTH2 message exceeds ${MAX_CLIENT_MESSAGE_OCTETS} octets`,
    );
  }
  const pairs = parseKvPairs("XOAUTH2", message, 0);
  for (const key of pairs.keys()) {
    if (key !== "user" && key !== "auth") {
      throw new SaslError(
        "malformed-response",
        `XOAUTH2 message has an unknown key ${key.slice(0, 32)}`,
      );
    }
  }
  const userBytes = pairs.get("user");
  const auth = pairs.get("auth");
  if (userBytes === undefined || auth === undefined) {
    throw new SaslError("malformed-response", "XOAUTH2 message needs both user= and auth=");
  }
  if (userBytes.length === 0) {
    throw new SaslError("malformed-response", "XOAUTH2 user is empty");
  }
  const user = readIdentity("XOAUTH2", "user", userBytes);
  return { user, token: readBearer("XOAUTH2", auth) };
}

/**
 * The XOAUTH2 descriptor for the registry.
 *
 * `createClient` is asynchronous: it resolves `credentials.token`, calling a provider with
 * `{ refresh: context.refreshToken ?? false }`, and needs `credentials.username` for `user=`.
 * `createServer` validates with `store.token` (the request's `authorizationId` is `user=`)
 * and authorizes with `store.authorize`. `redact` keeps `user=` and shows the token as `***`.
 *
 * @example
 * ```ts
 * import { xoauth2Mechanism } from "@saslkit/sasl";
 * import assert from "node:assert/strict";
 *
 * const client = await xoauth2Mechanism.createClient(
 *   { kind: "oauth", username: "someuser@example.com", token: "ya29.secret" },
 *   { service: "imap", host: "imap.gmail.com" },
 * );
 * assert.equal(
 *   xoauth2Mechanism.redact(client.start()!, {}),
 *   "user=someuser@example.com\x01auth=Bearer ***\x01\x01",
 * );
 * ```
 */
export const xoauth2Mechanism: MechanismDescriptor = defineMechanism({
  name: "XOAUTH2",
  properties: XOAUTH2_PROPERTIES,
  credentialKind: "oauth",
  async createClient(credentials, context) {
    const { username, token } = oauthCredentials("XOAUTH2", credentials);
    if (username === undefined || username === "") {
      throw new SaslError("invalid-argument", "XOAUTH2 needs credentials.username for user=");
    }
    return new XOAuth2Client({
      username,
      token: await resolveToken("XOAUTH2", token, context.refreshToken ?? false),
    });
  },
  createServer(store) {
    return new XOAuth2Server({
      validate: lookup("XOAUTH2", store, "token"),
      authorize: store.authorize,
    });
  },
  redact(message) {
    return shown(message, (text) => redactPairs(text, ["user"]));
  },
});
