/**
 * saslkit inside ldapts (8.2): multi-step SASL binds — DIGEST-MD5, SCRAM-SHA-1/-256 (and any
 * other password, OAuth or EXTERNAL mechanism of the registry) — driven through ldapts's
 * public `bindSASL()`, one LDAP BindRequest per call, with the server verified before the bind
 * is reported as done.
 *
 * How it works, and what ldapts allows:
 * - ldapts answers a step that is not the last with `SaslBindInProgressError` (result 14); the
 *   server's challenge is in `error.response.data`. {@linkcode saslBind} feeds it to the saslkit
 *   mechanism and calls `bindSASL()` again with the same mechanism and the answer.
 * - ldapts writes and reads SASL data as UTF-8 strings (its BER writer uses `Buffer.write`, its
 *   reader `toString("utf8")`), so only bytes that are valid UTF-8 survive. SCRAM and
 *   DIGEST-MD5 (charset=utf-8) messages are; a message that is not is refused with
 *   `invalid-argument` instead of being corrupted.
 * - ldapts always sends a credentials field: a mechanism with no initial response sends an
 *   empty one, which slapd treats as none.
 * - The data of the final, successful BindResponse (SCRAM's server-final `v=`, DIGEST-MD5's
 *   `rspauth`) is not returned by `bindSASL()`. The adapter reads it from the client's message
 *   parser events (`client.messageParser`, private in ldapts's types, not patched). When it
 *   cannot (another ldapts build), a mechanism that verifies the server fails closed with
 *   `server-not-verified`. Whenever verification fails the adapter unbinds the connection,
 *   which the server has already authenticated, and throws.
 * - ldapts's `autoRebind` replays only the last `bindSASL()` call, which cannot redo a
 *   multi-step exchange: call `saslBind()` again after a reconnect instead.
 *
 * @example A SCRAM-SHA-256 bind to slapd
 * ```ts ignore
 * import { Client } from "ldapts";
 * import { saslBind } from "@saslkit/adapters/ldapts";
 *
 * const client = new Client({ url: "ldap://127.0.0.1:389" });
 * const { mechanism } = await saslBind(client, {
 *   mechanisms: ["SCRAM-SHA-256", "DIGEST-MD5"],
 *   credentials: { username: "ldapuser", password: process.env.LDAP_PASSWORD! },
 *   host: "ldap.example.com",
 * });
 * console.log(mechanism); // "SCRAM-SHA-256"
 * await client.unbind();
 * ```
 *
 * @module
 */

import {
  type Credentials,
  defaultRegistry,
  type MechanismDescriptor,
  type MechanismOptions,
  type MechanismRegistry,
  SaslError,
  type SaslOutcome,
  type SkippedMechanism,
} from "@saslkit/sasl";

/** What the adapter needs of an ldapts `Client`. */
export interface LdaptsClientLike {
  /** Sends one SASL BindRequest. */
  bindSASL(mechanism: string, password?: string): Promise<void>;
  /** Closes the connection. */
  unbind(): Promise<void>;
  /** Reads the root DSE when no mechanisms are given. */
  search?(
    base: string,
    options: { scope: "base"; filter: string; attributes: string[] },
  ): Promise<{ searchEntries: Record<string, unknown>[] }>;
}

/** Options of {@linkcode saslBind}. */
export interface SaslBindOptions {
  /** The caller's credentials: password, OAuth token, or `{ kind: "external" }`. */
  readonly credentials: Credentials;
  /**
   * The mechanisms to try, most preferred first. Default: what the server's root DSE lists in
   * `supportedSASLMechanisms`, in the registry's order.
   */
  readonly mechanisms?: readonly string[];
  /** The server's host name (DIGEST-MD5's `digest-uri` is `ldap/<host>`). Default `localhost`. */
  readonly host?: string;
  /** Whether the connection is TLS (ldaps:// or after StartTLS); PLAIN needs it. Default false. */
  readonly secure?: boolean;
  /** Where the mechanisms come from. Default: saslkit's `defaultRegistry` (SCRAM first). */
  readonly registry?: MechanismRegistry;
  /** Per-mechanism settings. */
  readonly options?: MechanismOptions;
}

/** What {@linkcode saslBind} established. */
export interface SaslBindResult extends SaslOutcome {
  /** Every mechanism tried before the one that worked, and why it failed. */
  readonly failed: readonly { readonly mechanism: string; readonly error: SaslError }[];
  /** The mechanisms not tried, and why. */
  readonly skipped: readonly SkippedMechanism[];
}

const MAX_STEPS = 16;
const BIND_RESPONSE = 0x61;

/**
 * Binds an ldapts client with a saslkit mechanism, driving a multi-step exchange through
 * repeated `bindSASL()` calls, and falls back to the next mechanism when one is refused (not
 * after wrong credentials: those end the bind).
 *
 * @param client An ldapts `Client` (connected or not).
 * @param options Credentials, mechanisms, host.
 * @returns The outcome of the mechanism that worked.
 * @throws {SaslError} `authentication-failed` (result 49), `authorization-failed` (result 50),
 * `server-verification-failed` / `server-not-verified` (the connection is unbound),
 * `server-rejected` for any other refusal of the last mechanism, `invalid-argument` for bad
 * options or a message ldapts cannot carry.
 *
 * @example Nothing to try is a typed error
 * ```ts
 * import { saslBind } from "@saslkit/adapters/ldapts";
 * import { rejects } from "node:assert/strict";
 *
 * const client = { bindSASL: async () => {}, unbind: async () => {} };
 * await rejects(
 *   saslBind(client, { mechanisms: ["X-NOPE"], credentials: { username: "u", password: "p" } }),
 *   { code: "invalid-argument" },
 * );
 * ```
 */
export async function saslBind(
  client: LdaptsClientLike,
  options: SaslBindOptions,
): Promise<SaslBindResult> {
  if (typeof client?.bindSASL !== "function") {
    throw new SaslError("invalid-argument", "saslBind needs an ldapts Client");
  }
  const registry = options.registry ?? defaultRegistry;
  const secure = options.secure ?? false;
  const offered = options.mechanisms === undefined
    ? await rootDseMechanisms(client)
    : [...options.mechanisms];
  const { order, skipped } = registry.negotiate({
    offered,
    preferred: options.mechanisms,
    credentials: options.credentials,
    secure,
    channelBinding: "disable",
  });
  if (order.length === 0) {
    throw new SaslError(
      "invalid-argument",
      `no mechanism to try: ${skipped.map((s) => `${s.name} (${s.reason})`).join(", ") || "none"}`,
    );
  }
  const failed: { mechanism: string; error: SaslError }[] = [];
  for (const descriptor of order) {
    try {
      const outcome = await bindWith(client, descriptor, options, offered, secure);
      return { ...outcome, failed, skipped };
    } catch (error) {
      const e = error instanceof SaslError
        ? error
        : new SaslError("server-rejected", String(error));
      failed.push({ mechanism: descriptor.name, error: e });
      if (e.code !== "server-rejected" || descriptor === order[order.length - 1]) throw e;
    }
  }
  throw failed[failed.length - 1].error;
}

async function bindWith(
  client: LdaptsClientLike,
  descriptor: MechanismDescriptor,
  options: SaslBindOptions,
  offered: readonly string[],
  secure: boolean,
): Promise<SaslOutcome> {
  const mechanism = await descriptor.createClient(options.credentials, {
    service: "ldap",
    host: options.host ?? "localhost",
    secure,
    offered,
    options: options.options,
  });
  const parser = (client as { messageParser?: unknown }).messageParser as
    | {
      on(event: "message", fn: (m: unknown) => void): unknown;
      removeListener(event: "message", fn: (m: unknown) => void): unknown;
    }
    | undefined;
  let successData: Uint8Array | undefined;
  const onMessage = (message: unknown) => {
    const m = message as { protocolOperation?: number; status?: number; data?: unknown };
    if (m?.protocolOperation === BIND_RESPONSE && m.status === 0) successData = dataOf(m.data);
  };
  const canSeeSuccess = typeof parser?.on === "function";
  if (canSeeSuccess) parser!.on("message", onMessage);
  try {
    let message = mechanism.start();
    for (let step = 0;; step++) {
      if (step >= MAX_STEPS) {
        throw new SaslError("malformed-challenge", `more than ${MAX_STEPS} bind steps`);
      }
      successData = undefined;
      const credentials = message === undefined ? "" : text(message);
      try {
        await client.bindSASL(descriptor.name, credentials);
      } catch (error) {
        const e = error as { code?: number; name?: string; response?: { data?: unknown } };
        if (e?.code === 14 || e?.name === "SaslBindInProgressError") {
          message = await mechanism.next(dataOf(e.response?.data) ?? new Uint8Array(0));
          continue;
        }
        throw mechanism.serverError ?? refusal(e);
      }
      break;
    }
    try {
      return mechanism.finish(successData);
    } catch (error) {
      // The server has authenticated this connection, but could not prove itself.
      await client.unbind().catch(() => {});
      throw error;
    }
  } finally {
    if (canSeeSuccess) parser!.removeListener("message", onMessage);
  }
}

async function rootDseMechanisms(client: LdaptsClientLike): Promise<string[]> {
  if (typeof client.search !== "function") {
    throw new SaslError("invalid-argument", "give the mechanisms: this client cannot search");
  }
  const { searchEntries } = await client.search("", {
    scope: "base",
    filter: "(objectClass=*)",
    attributes: ["supportedSASLMechanisms"],
  });
  const value = searchEntries[0]?.supportedSASLMechanisms;
  const list = Array.isArray(value) ? value : value === undefined ? [] : [value];
  return list.map(String);
}

function dataOf(data: unknown): Uint8Array | undefined {
  const first = Array.isArray(data) ? data[0] : data;
  if (typeof first !== "string" || first === "") return undefined;
  return new TextEncoder().encode(first);
}

function text(bytes: Uint8Array): string {
  try {
    return new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch {
    throw new SaslError(
      "invalid-argument",
      "ldapts carries SASL data as UTF-8 text, and this message is not valid UTF-8",
    );
  }
}

function refusal(error: { code?: number; name?: string; message?: string }): SaslError {
  const code = error?.code === 49
    ? "authentication-failed"
    : error?.code === 50
    ? "authorization-failed"
    : "server-rejected";
  const what = typeof error?.code === "number" ? `LDAP result ${error.code}` : "an error";
  return new SaslError(code, `the LDAP server refused the bind (${what})`, { cause: error });
}
