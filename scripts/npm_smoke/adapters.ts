/// <reference types="node" />
// Type-checked against the installed @saslkit/adapters and nodemailer .d.ts files, with Node's
// types as a nodemailer user has them; see README.md.
import nodemailer from "nodemailer";
import {
  type FallbackResult,
  nodemailerAuth,
  NodemailerAuthError,
  sendMailWithFallback,
} from "@saslkit/adapters/nodemailer";

// The spread must fit nodemailer's own option types.
const transporter = nodemailer.createTransport({
  host: "mail.example.com",
  port: 587,
  requireTLS: true,
  ...nodemailerAuth({
    user: "smtpuser",
    pass: "secret",
    mechanisms: ["DIGEST-MD5", "CRAM-MD5"],
    secure: true,
    token: undefined,
  }),
});
transporter.close();

export async function send(): Promise<string> {
  try {
    const result: FallbackResult = await sendMailWithFallback(
      { host: "mail.example.com", ...nodemailerAuth({ user: "u", token: () => "ya29.token" }) },
      { from: "a@example.com", to: "b@example.com", text: "hi" },
    );
    return `${result.mechanism} ${result.info.messageId}`;
  } catch (error) {
    if (error instanceof NodemailerAuthError) return error.saslkitCode;
    throw error;
  }
}

// xmpp.js (which ships no types: a client is taken structurally) and ldapts (typed).
import { saslBind, type SaslBindResult } from "@saslkit/adapters/ldapts";
import { useSaslkit, type XmppClientLike, type XmppSaslkit } from "@saslkit/adapters/xmpp";
import { Client } from "ldapts";

declare const xmpp: XmppClientLike;
const saslkit: XmppSaslkit = useSaslkit(xmpp, { channelBinding: "require" });
export const names: readonly string[] = saslkit.names;
export async function bind(): Promise<string> {
  const result: SaslBindResult = await saslBind(new Client({ url: "ldap://127.0.0.1" }), {
    credentials: { username: "u", password: "p" },
  });
  return result.mechanism;
}
