/**
 * The SCRAM server (RFC 5802, RFC 7677), and the derivation of the credentials it stores.
 *
 * @module
 */

import { concat, decodeUtf8, randomBytes, timingSafeEqual, utf8 } from "../_bytes.ts";
import { hmacSha, sha, SHA_LENGTH, type ShaName } from "../_sha.ts";
import { encodeBase64 } from "../base64.ts";
import { SaslError, type SaslErrorCode } from "../error.ts";
import type { SaslOutcome, ServerMechanism, ServerStep } from "../mechanism.ts";
import { saslprep } from "../saslprep.ts";
import {
  checkChannelBinding,
  checkHash,
  DEFAULT_MIN_ITERATIONS,
  makeNonce,
  type ScramChannelBinding,
  type ScramHash,
  scramName,
  ScramServerError,
} from "./_common.ts";
import {
  keysFromSaltedPassword,
  saltedPassword,
  stableSalt,
  userSeed,
  wipe,
  xor,
} from "./_keys.ts";
import {
  base64Attribute,
  CHANNEL_BINDING_TYPES,
  type ChannelBindingType,
  checkExtensions,
  expect,
  isCbName,
  isPrintable,
  malformed,
  MAX_MESSAGE_OCTETS,
  splitAttributes,
  unescapeSaslname,
} from "./_messages.ts";

/**
 * What a SCRAM server stores for one user and hash (RFC 5802 §3): never the password.
 * Make it with {@linkcode deriveScramCredentials}.
 */
export interface ScramCredentials {
  /** H(ClientKey). */
  readonly storedKey: Uint8Array;
  /** HMAC(SaltedPassword, "Server Key"). */
  readonly serverKey: Uint8Array;
  /** The salt, sent to the client. */
  readonly salt: Uint8Array;
  /** The PBKDF2 iteration count, sent to the client. */
  readonly iterations: number;
}

/** Options of {@linkcode deriveScramCredentials}. */
export interface DeriveScramCredentialsOptions {
  /** The hash: `SHA-1`, `SHA-256` or `SHA-512`. */
  readonly hash: ScramHash;
  /** The salt; default 16 random bytes. */
  readonly salt?: Uint8Array;
  /** The iteration count; default 4096 (RFC 7677 §4). */
  readonly iterations?: number;
}

/**
 * Derives what a SCRAM server stores for a password: StoredKey, ServerKey, the salt and the
 * iteration count. The password is SASLprep'd as a stored string (RFC 4013: unassigned code
 * points are refused). Asynchronous, since PBKDF2 may run on WebCrypto.
 *
 * @param password The password.
 * @param options The hash, and optionally the salt and iteration count.
 * @returns The credentials to store.
 * @throws {SaslError} `invalid-argument` for an unknown hash, an empty salt, an iteration
 * count below 1, or a password that is empty or rejected by SASLprep; `saslprep-unavailable`
 * for a password that is not printable ASCII where SASLprep's library cannot load (a browser
 * without a `Buffer` polyfill).
 *
 * @example The stored keys of RFC 5802 §5
 * ```ts
 * import { deriveScramCredentials } from "@saslkit/sasl/scram";
 * import { decodeBase64, encodeBase64 } from "@saslkit/sasl";
 * import assert from "node:assert/strict";
 *
 * const credentials = await deriveScramCredentials("pencil", {
 *   hash: "SHA-1",
 *   salt: decodeBase64("QSXCR+Q6sek8bf92"),
 *   iterations: 4096,
 * });
 * assert.equal(credentials.iterations, 4096);
 * assert.equal(encodeBase64(credentials.storedKey).length, 28); // 20 bytes of SHA-1
 * ```
 */
export async function deriveScramCredentials(
  password: string,
  options: DeriveScramCredentialsOptions,
): Promise<ScramCredentials> {
  const hash = checkHash(options.hash);
  const salt = options.salt?.slice() ?? randomBytes(16);
  const iterations = options.iterations ?? DEFAULT_MIN_ITERATIONS;
  if (salt.length === 0) throw new SaslError("invalid-argument", "SCRAM salt must not be empty");
  if (!Number.isSafeInteger(iterations) || iterations < 1) {
    throw new SaslError("invalid-argument", "SCRAM iterations must be a positive integer");
  }
  const prepared = await saslprep(password, { what: "password" });
  if (prepared === "") throw new SaslError("invalid-argument", "the SCRAM password is empty");
  const bytes = utf8(prepared);
  const salted = await saltedPassword(hash, bytes, salt, iterations);
  const { clientKey, storedKey, serverKey } = await keysFromSaltedPassword(hash, salted);
  wipe(bytes, salted, clientKey);
  return { storedKey, serverKey, salt, iterations };
}

/** Options of a {@linkcode ScramServer}. */
export interface ScramServerOptions {
  /** The hash: `SHA-1`, `SHA-256` or `SHA-512`. */
  readonly hash: ScramHash;
  /** This exchange is the -PLUS variant (the client chose `SCRAM-…-PLUS`). Default `false`. */
  readonly plus?: boolean;
  /**
   * Looks up a user's stored credentials for this hash.
   *
   * @param username The username, unescaped and SASLprep'd.
   * @returns The credentials, or `undefined` for an unknown user.
   */
  readonly credentials: (
    username: string,
  ) => ScramCredentials | undefined | Promise<ScramCredentials | undefined>;
  /**
   * The channel-binding data of this connection, per type, as the TLS layer gives it. A -PLUS
   * client must bind with one of these types and the same data.
   */
  readonly channelBindings?: Partial<Record<ChannelBindingType, Uint8Array>>;
  /**
   * One channel binding, the same as `channelBindings: { [type]: data }` (both may be given;
   * they must not disagree on a type).
   */
  readonly channelBinding?: ScramChannelBinding;
  /**
   * Whether the server advertised a -PLUS mechanism on this connection, so that a client
   * saying `y` ("I could bind, but you cannot") reveals a stripped mechanism list.
   * Default: `true` when `plus` is set or `channelBindings` has data.
   */
  readonly advertisesPlus?: boolean;
  /**
   * Decides whether the authenticated user may act as the authorization id the client sent.
   * The default allows only the user itself.
   *
   * @param authenticationId The authenticated username.
   * @param authorizationId The requested identity.
   * @returns Whether to allow it.
   */
  readonly authorize?: (
    authenticationId: string,
    authorizationId: string,
  ) => boolean | Promise<boolean>;
  /**
   * A secret from which unknown users get a salt (and fake keys), so that asking twice for the
   * same unknown user gets the same salt and the reply does not show the user is unknown.
   * Give every server process of one service the same secret (16+ bytes); the default is a
   * random secret made once per process.
   */
  readonly secret?: Uint8Array;
  /**
   * The iteration count told to unknown users; default 4096. Make it what real users have.
   */
  readonly unknownUserIterations?: number;
  /** The server's part of the nonce, for tests only; default random. */
  readonly nonce?: string;
}

type ServerState =
  | "initial"
  | "awaiting-client-first"
  | "busy"
  | "awaiting-client-final"
  | "rejecting"
  | "done"
  | "failed";

interface Rejection {
  readonly serverError: string;
  readonly code: SaslErrorCode;
  readonly message: string;
}

let processSecret: Uint8Array | undefined;

/**
 * The server side of SCRAM (RFC 5802, RFC 7677).
 *
 * Stores no password: it works from {@linkcode ScramCredentials}. {@linkcode ScramServer.next}
 * returns a Promise (the lookup may be asynchronous, and so is WebCrypto). The nonce is fresh
 * per exchange and the client-final nonce must equal it exactly. An unknown user gets a salt
 * derived from the server secret and the usual iteration count, and fails only at the proof,
 * like a wrong password. Channel binding is checked against `channelBindings`; a `y` flag
 * while the server advertises -PLUS is a downgrade.
 *
 * Failures found in the client-final message are sent as SCRAM defines them: `next()` returns
 * a challenge `e=<value>` with `done: false`, which the protocol sends to the client, and the
 * call after it (or {@linkcode ScramServer.outcome}) throws the typed error, a
 * {@linkcode ScramServerError} whose `serverError` is the value sent. A malformed
 * client-first message throws at once.
 *
 * @example A whole exchange, both sides
 * ```ts
 * import { deriveScramCredentials, ScramClient, ScramServer } from "@saslkit/sasl/scram";
 * import assert from "node:assert/strict";
 *
 * const stored = await deriveScramCredentials("pencil", { hash: "SHA-256" });
 * const server = new ScramServer({
 *   hash: "SHA-256",
 *   credentials: (username) => username === "user" ? stored : undefined,
 * });
 * const client = new ScramClient({ hash: "SHA-256", username: "user", password: "pencil" });
 *
 * const serverFirst = await server.next(client.start());
 * const serverFinal = await server.next(await client.next(serverFirst.challenge!));
 * assert.equal(serverFinal.done, true);
 * client.finish(serverFinal.challenge); // verifies the server signature
 * assert.equal(server.outcome().authenticationId, "user");
 * ```
 */
export class ScramServer implements ServerMechanism {
  /** The registered mechanism name, such as `SCRAM-SHA-256` or `SCRAM-SHA-256-PLUS`. */
  readonly name: string;
  #state: ServerState = "initial";
  readonly #hash: ShaName;
  readonly #plus: boolean;
  readonly #options: ScramServerOptions;
  readonly #advertisesPlus: boolean;
  readonly #bindings: Partial<Record<ChannelBindingType, Uint8Array>>;
  #rejection: Rejection | undefined;
  #pending: Rejection | undefined;
  #credentials: ScramCredentials | undefined;
  #known = false;
  #gs2Header = "";
  #cbindType: ChannelBindingType | undefined;
  #nonce = "";
  #clientFirstBare = "";
  #serverFirst = "";
  #username = "";
  #authorizationId: string | undefined;
  #outcome: SaslOutcome | undefined;

  /**
   * Creates a server for one exchange.
   *
   * @param options The hash, the credential lookup, and optionally channel binding, an
   * authorization policy and the secret for unknown users.
   * @throws {SaslError} `invalid-argument` for an unknown hash, a channel-binding entry that
   * is not a non-empty Uint8Array of a known type, or a bad test nonce.
   */
  constructor(options: ScramServerOptions) {
    this.#hash = checkHash(options.hash);
    this.#plus = options.plus === true;
    this.name = scramName(options.hash, this.#plus);
    const bindings: Partial<Record<ChannelBindingType, Uint8Array>> = {
      ...options.channelBindings,
    };
    const one = options.channelBinding;
    if (one !== undefined) {
      checkChannelBinding(one);
      const other = bindings[one.type];
      if (other !== undefined && !timingSafeEqual(other, one.data)) {
        throw new SaslError("invalid-argument", "channelBinding and channelBindings disagree");
      }
      bindings[one.type] = one.data;
    }
    this.#bindings = bindings;
    for (const [type, data] of Object.entries(bindings)) {
      if (!CHANNEL_BINDING_TYPES.includes(type as ChannelBindingType)) {
        throw new SaslError("invalid-argument", "unknown SCRAM channel-binding type");
      }
      if (data !== undefined && (!(data instanceof Uint8Array) || data.length === 0)) {
        throw new SaslError("invalid-argument", "SCRAM channel-binding data must not be empty");
      }
    }
    const hasBindings = Object.values(bindings).some((data) => data !== undefined);
    this.#advertisesPlus = options.advertisesPlus ?? (this.#plus || hasBindings);
    if (options.nonce !== undefined) makeNonce(options.nonce, "server");
    const iterations = options.unknownUserIterations ?? DEFAULT_MIN_ITERATIONS;
    if (!Number.isSafeInteger(iterations) || iterations < 1) {
      throw new SaslError("invalid-argument", "unknownUserIterations must be a positive integer");
    }
    this.#options = options;
  }

  /**
   * Takes the client's next message and returns the next challenge. Returns a Promise: the
   * credential lookup may be asynchronous, and so is WebCrypto.
   *
   * @param response `undefined` when the client sent no initial response (an empty challenge
   * asks for it), then the client-first and the client-final message.
   * @returns The server-first message; then the server-final message with `done: true`, or
   * an `e=` challenge with `done: false` when authentication failed.
   * @throws {SaslError} `malformed-response` or `message-too-long` for a bad client-first
   * message; after an `e=` challenge, its code: `authentication-failed`,
   * `authorization-failed`, `channel-binding-mismatch`, `channel-binding-downgrade`,
   * `replay`, `malformed-response` (as {@linkcode ScramServerError}); `invalid-state` out of
   * order.
   */
  async next(response: Uint8Array | undefined): Promise<ServerStep> {
    switch (this.#state) {
      case "initial":
      case "awaiting-client-first": {
        if (response === undefined) {
          if (this.#state !== "initial") {
            throw new SaslError("invalid-state", "no client-first message after the challenge");
          }
          this.#state = "awaiting-client-first";
          return { challenge: new Uint8Array(0), done: false };
        }
        this.#state = "busy";
        try {
          const challenge = await this.#serverFirstMessage(response);
          this.#state = "awaiting-client-final";
          return { challenge, done: false };
        } catch (error) {
          throw this.#failed(error);
        }
      }
      case "awaiting-client-final": {
        if (response === undefined) {
          throw new SaslError("invalid-state", "SCRAM expects the client-final message");
        }
        this.#state = "busy";
        let result: Uint8Array | Rejection;
        try {
          result = await this.#serverFinalMessage(response);
        } catch (error) {
          throw this.#failed(error);
        }
        if (result instanceof Uint8Array) {
          this.#state = "done";
          this.#wipe();
          return { challenge: result, done: true };
        }
        this.#rejection = result;
        this.#state = "rejecting";
        this.#wipe();
        return { challenge: utf8(`e=${result.serverError}`), done: false };
      }
      case "rejecting":
        throw this.#failed(this.#rejectionError());
      case "busy":
        throw new SaslError("invalid-state", "next() called while the previous one is running");
      default:
        throw new SaslError("invalid-state", "the SCRAM exchange is over");
    }
  }

  /**
   * What the exchange established.
   *
   * @returns The username, the authorization id when one was sent, qop `auth`.
   * @throws {SaslError} the failure's code after an `e=` challenge, `invalid-state` before
   * the exchange is done.
   */
  outcome(): SaslOutcome {
    if (this.#state === "rejecting") throw this.#failed(this.#rejectionError());
    if (this.#state !== "done" || this.#outcome === undefined) {
      throw new SaslError("invalid-state", "the SCRAM exchange is not done");
    }
    return this.#outcome;
  }

  #rejectionError(): ScramServerError {
    const rejection = this.#rejection!;
    return new ScramServerError(rejection.code, rejection.serverError, rejection.message);
  }

  async #serverFirstMessage(message: Uint8Array): Promise<Uint8Array> {
    const what = "client-first message";
    if (message.length > MAX_MESSAGE_OCTETS) {
      throw new SaslError("message-too-long", `SCRAM ${what} exceeds ${MAX_MESSAGE_OCTETS} octets`);
    }
    const text = decodeUtf8(message);
    if (text === undefined) throw malformed("malformed-response", `SCRAM ${what} is not UTF-8`);
    if (text.includes("\0")) throw malformed("malformed-response", `SCRAM ${what} contains NUL`);
    // gs2-header = gs2-cbind-flag "," [ authzid ] ","
    const first = text.indexOf(",");
    const second = first < 0 ? -1 : text.indexOf(",", first + 1);
    if (second < 0) throw malformed("malformed-response", `SCRAM ${what} lacks a GS2 header`);
    const flag = text.slice(0, first);
    const authzPart = text.slice(first + 1, second);
    this.#gs2Header = text.slice(0, second + 1);
    this.#clientFirstBare = text.slice(second + 1);
    this.#checkFlag(flag);
    if (authzPart !== "") {
      if (!authzPart.startsWith("a=") || authzPart.length === 2) {
        throw malformed("malformed-response", "SCRAM GS2 header has a bad authzid");
      }
      const authzid = unescapeSaslname(authzPart.slice(2));
      if (authzid === undefined) {
        throw malformed("malformed-response", "SCRAM authzid has a bad =XX escape");
      }
      this.#authorizationId = authzid;
    }

    const attributes = splitAttributes(this.#clientFirstBare, "malformed-response", what);
    if (attributes[0].name === "m") {
      throw malformed("malformed-response", "SCRAM client requires an unsupported extension");
    }
    const escapedName = expect(attributes, 0, "n", "malformed-response", what);
    const clientNonce = expect(attributes, 1, "r", "malformed-response", what);
    checkExtensions(attributes, 2, "nr", "malformed-response", what);
    const rawName = unescapeSaslname(escapedName);
    if (rawName === undefined) {
      throw malformed("malformed-response", "SCRAM username has a bad =XX escape");
    }
    if (!isPrintable(clientNonce)) {
      throw malformed("malformed-response", "SCRAM client nonce is not printable ASCII");
    }

    let username: string | undefined;
    try {
      username = await saslprep(rawName, { allowUnassigned: true, what: "username" });
    } catch (error) {
      // A name SASLprep refuses is the client's fault; a library that cannot load is not.
      if (!(error instanceof SaslError) || error.code !== "invalid-argument") throw error;
      username = undefined;
    }
    if (username === undefined || username === "") {
      this.#pending ??= {
        serverError: "invalid-username-encoding",
        code: "malformed-response",
        message: "the SCRAM username is rejected by SASLprep",
      };
      username = rawName;
    }
    this.#username = username;
    this.#credentials = this.#pending === undefined ? await this.#lookup(username) : undefined;
    this.#known = this.#credentials !== undefined;
    this.#credentials ??= await this.#fakeCredentials(username);

    this.#nonce = clientNonce + makeNonce(this.#options.nonce, "server");
    const salt = encodeBase64(this.#credentials.salt);
    this.#serverFirst = `r=${this.#nonce},s=${salt},i=${this.#credentials.iterations}`;
    return utf8(this.#serverFirst);
  }

  /** Records (does not throw) what is wrong with the channel-binding flag. */
  #checkFlag(flag: string): void {
    if (flag === "n" || flag === "y") {
      if (this.#plus) {
        this.#pending = {
          serverError: "channel-binding-not-supported",
          code: "channel-binding-mismatch",
          message: "a SCRAM -PLUS client did not bind the channel",
        };
      } else if (flag === "y" && this.#advertisesPlus) {
        this.#pending = {
          serverError: "server-does-support-channel-binding",
          code: "channel-binding-downgrade",
          message: "the client could bind but saw no -PLUS mechanism: the list was tampered with",
        };
      }
      return;
    }
    if (!flag.startsWith("p=") || !isCbName(flag.slice(2))) {
      throw malformed("malformed-response", "SCRAM GS2 header has a bad channel-binding flag");
    }
    const type = flag.slice(2);
    if (!this.#plus) {
      this.#pending = {
        serverError: "other-error",
        code: "channel-binding-mismatch",
        message: "the client bound the channel in a mechanism without -PLUS",
      };
    } else if (
      !CHANNEL_BINDING_TYPES.includes(type as ChannelBindingType) ||
      this.#bindings[type as ChannelBindingType] === undefined
    ) {
      this.#pending = {
        serverError: "unsupported-channel-binding-type",
        code: "channel-binding-mismatch",
        message: "the client bound the channel with a type this server has no data for",
      };
    } else {
      this.#cbindType = type as ChannelBindingType;
    }
  }

  async #lookup(username: string): Promise<ScramCredentials | undefined> {
    const found = await this.#options.credentials(username);
    if (found === undefined) return undefined;
    const length = SHA_LENGTH[this.#hash];
    if (
      !(found.storedKey instanceof Uint8Array) || found.storedKey.length !== length ||
      !(found.serverKey instanceof Uint8Array) || found.serverKey.length !== length ||
      !(found.salt instanceof Uint8Array) || found.salt.length === 0 ||
      !Number.isSafeInteger(found.iterations) || found.iterations < 1
    ) {
      throw new SaslError(
        "invalid-argument",
        `the stored SCRAM credentials are not ${this.name} credentials`,
      );
    }
    return found;
  }

  async #fakeCredentials(username: string): Promise<ScramCredentials> {
    const secret = this.#options.secret ?? (processSecret ??= randomBytes(32));
    const salt = await stableSalt(secret, this.#hash, username);
    const seed = await userSeed(secret, this.#hash, username);
    const storedKey = await hmacSha(this.#hash, seed, utf8("stored"));
    const serverKey = await hmacSha(this.#hash, seed, utf8("server"));
    wipe(seed);
    return {
      storedKey,
      serverKey,
      salt,
      iterations: this.#options.unknownUserIterations ?? DEFAULT_MIN_ITERATIONS,
    };
  }

  async #serverFinalMessage(message: Uint8Array): Promise<Uint8Array | Rejection> {
    const what = "client-final message";
    if (message.length > MAX_MESSAGE_OCTETS) {
      throw new SaslError("message-too-long", `SCRAM ${what} exceeds ${MAX_MESSAGE_OCTETS} octets`);
    }
    const text = decodeUtf8(message);
    const invalid = (why: string): Rejection => ({
      serverError: "invalid-encoding",
      code: "malformed-response",
      message: `SCRAM ${what} ${why}`,
    });
    if (text === undefined) return invalid("is not valid UTF-8");
    let attributes;
    let channelBinding: Uint8Array;
    let proof: Uint8Array;
    let nonce: string;
    try {
      attributes = splitAttributes(text, "malformed-response", what);
      if (attributes.some((attribute) => attribute.name === "m")) {
        return {
          serverError: "extensions-not-supported",
          code: "malformed-response",
          message: `SCRAM ${what} requires an unsupported extension`,
        };
      }
      channelBinding = base64Attribute(
        expect(attributes, 0, "c", "malformed-response", what),
        "c",
        "malformed-response",
        what,
      );
      nonce = expect(attributes, 1, "r", "malformed-response", what);
      const last = Math.max(attributes.length - 1, 2);
      proof = base64Attribute(
        expect(attributes, last, "p", "malformed-response", what),
        "p",
        "malformed-response",
        what,
      );
      checkExtensions(attributes.slice(0, last), 2, "crp", "malformed-response", what);
    } catch (error) {
      // Grammar errors of the client-final message are answered with e=invalid-encoding.
      if (error instanceof SaslError) return invalid(error.message.replace(`SCRAM ${what} `, ""));
      throw error;
    }
    if (this.#pending !== undefined) return this.#pending;

    const cbindData = this.#cbindType === undefined
      ? new Uint8Array(0)
      : this.#bindings[this.#cbindType]!;
    const expected = concat(utf8(this.#gs2Header), cbindData);
    if (!timingSafeEqual(channelBinding, expected)) {
      return {
        serverError: "channel-bindings-dont-match",
        code: "channel-binding-mismatch",
        message: "the SCRAM channel binding differs from this connection's",
      };
    }
    if (nonce !== this.#nonce) {
      return {
        serverError: "other-error",
        code: "replay",
        message: "the SCRAM client-final nonce is not the nonce of this exchange",
      };
    }

    const credentials = this.#credentials!;
    const withoutProof = text.slice(0, text.lastIndexOf(",p="));
    const authMessage = utf8(`${this.#clientFirstBare},${this.#serverFirst},${withoutProof}`);
    const length = SHA_LENGTH[this.#hash];
    // A proof of the wrong length is compared as zeros, so every failure costs the same work.
    const proofBytes = proof.length === length ? proof : new Uint8Array(length);
    const clientSignature = await hmacSha(this.#hash, credentials.storedKey, authMessage);
    const clientKey = xor(proofBytes, clientSignature);
    const storedKey = await sha(this.#hash, clientKey);
    const match = timingSafeEqual(storedKey, credentials.storedKey);
    wipe(clientSignature, clientKey, storedKey);
    if (!match || !this.#known || proof.length !== length) {
      return {
        serverError: "invalid-proof",
        code: "authentication-failed",
        message: "wrong username or password",
      };
    }

    const authzid = this.#authorizationId;
    if (authzid !== undefined && authzid !== this.#username) {
      const authorize = this.#options.authorize;
      if (authorize === undefined || !(await authorize(this.#username, authzid))) {
        return {
          serverError: "other-error",
          code: "authorization-failed",
          message: "the authentication identity may not act as the requested authorization id",
        };
      }
    }
    const serverSignature = await hmacSha(this.#hash, credentials.serverKey, authMessage);
    this.#outcome = authzid === undefined
      ? { mechanism: this.name, authenticationId: this.#username, qop: "auth" }
      : {
        mechanism: this.name,
        authenticationId: this.#username,
        authorizationId: authzid,
        qop: "auth",
      };
    return utf8(`v=${encodeBase64(serverSignature)}`);
  }

  #failed(error: unknown): unknown {
    this.#state = "failed";
    this.#wipe();
    return error;
  }

  #wipe(): void {
    // The stored keys belong to the caller's store unless they were made up here.
    if (!this.#known && this.#credentials !== undefined) {
      wipe(this.#credentials.storedKey, this.#credentials.serverKey);
    }
    this.#credentials = undefined;
  }
}
