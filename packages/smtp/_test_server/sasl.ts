// The server mechanisms of the test server come from the registry; this file only builds
// them from the test server's users and options, and shows their messages in its transcript.

import {
  type ChannelBindings,
  defaultRegistry,
  type MechanismDescriptor,
  type ServerMechanism,
} from "@saslkit/sasl";
import type { ResolvedOptions } from "./options.ts";
import { escapeControls } from "../_bytes.ts";
import { redactClientMessage } from "../transcript.ts";

/** The registry entry of a mechanism the test server can serve, or `undefined`. */
export function serverDescriptor(name: string): MechanismDescriptor | undefined {
  return defaultRegistry.get(name);
}

/** What the connection of an AUTH command knows about its channel. */
export interface ConnectionState {
  /** Whether TLS is on. */
  readonly secure: boolean;
  /** The server end's channel-binding data. */
  readonly channelBindings: ChannelBindings;
  /** The identity a verified TLS client certificate established, for EXTERNAL. */
  readonly externalIdentity?: string;
}

/** A fresh server mechanism for one AUTH command, from the test server's users. */
export function createMechanism(
  descriptor: MechanismDescriptor,
  options: ResolvedOptions,
  connection: ConnectionState,
): ServerMechanism {
  const { users, tokens } = options;
  const token = (bearer: string) => {
    const user = tokens.get(bearer);
    return user === undefined
      ? { error: { status: "invalid_token", scope: "mail" } }
      : { authenticationId: user };
  };
  // Without tokens, OAUTHBEARER and XOAUTH2 cannot be built and AUTH answers 504.
  const password = (user: string) => users.get(user);
  const store = {
    password,
    token: tokens.size > 0 ? token : undefined,
    anonymous: options.anonymous ? () => true : undefined,
    externalIdentity: connection.externalIdentity,
  };
  return descriptor.createServer(store, {
    service: "smtp",
    host: options.domain,
    secure: connection.secure,
    channelBindings: connection.channelBindings,
    offered: options.mechanisms,
    options: {
      digestMd5: {
        hosts: options.digestHosts,
        realms: [options.realm],
        qop: options.digestQop,
        ciphers: options.digestCiphers,
        maxbuf: options.maxbuf,
      },
    },
  });
}

/**
 * The server's proof of success data with one character changed, so that no client can
 * accept it: the first character after the first `=` (DIGEST-MD5's `rspauth=`, SCRAM's `v=`)
 * becomes another character of the same alphabet.
 */
export function falsifyProof(data: Uint8Array): Uint8Array {
  const out = data.slice();
  const at = out.indexOf(0x3d) + 1;
  if (at <= 0 || at >= out.length) return out;
  const c = out[at];
  const hex = "0123456789abcdef";
  const lower = String.fromCharCode(c).toLowerCase();
  if (hex.includes(lower)) {
    out[at] = hex.charCodeAt((hex.indexOf(lower) + 1) % 16);
  } else if ((c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a)) {
    out[at] = c ^ 0x20; // the other case: another base64 value
  } else {
    out[at] = c === 0x2b ? 0x2f : 0x2b; // "+" and "/"
  }
  return out;
}

const decoder = new TextDecoder();

/** Bytes as a transcript string: UTF-8 where valid, control characters as `\xNN`. */
export function printable(bytes: Uint8Array): string {
  // The same escapes as the client's transcript, so the two read alike side by side.
  return escapeControls(decoder.decode(bytes));
}

/**
 * A client message of a SASL exchange as the transcript shows it: as the mechanism's registry
 * entry redacts it, exactly as the client's own transcript does.
 *
 * @param mechanism The mechanism name of the AUTH command.
 * @param bytes The decoded message.
 * @param lastChallenge The challenge it answers; `undefined` for an initial response.
 */
export function showResponse(
  mechanism: string,
  bytes: Uint8Array,
  lastChallenge: Uint8Array | undefined,
): string {
  return redactClientMessage(mechanism, bytes, { lastChallenge });
}
