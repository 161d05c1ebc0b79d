// nodemailer with saslkit's handler against the real servers `npm test` starts (see
// packages/smtp/interop/servers.ts): Sendmail 8.17 with Cyrus SASL 2.1.28, the server of the
// motivating report, and Postfix 3.7 with Dovecot 2.3. Every mechanism they offer sends a
// message that is then found in the server's queue; through Sendmail, DIGEST-MD5's
// integrity and confidentiality layers carry a 20 KB body intact.
//
// Needs what scripts/peers/mail.sh installs (root, Debian): without it the tests fail under
// CI=true and are skipped, loudly, elsewhere.

import assert from "node:assert/strict";
import nodemailer from "nodemailer";
import { nodemailerAuth, type NodemailerAuthOptions } from "../nodemailer/mod.ts";
import {
  type PeerUser,
  requirePeer,
  type SmtpPeer,
  startPostfixDovecot,
  startSendmail,
} from "../../smtp/interop/servers.ts";
import {
  assertSendmailBody,
  authenticatedBits,
  bigBody,
  FROM,
  queuedMessage,
  type TestMessage,
  testMessage,
  TO,
} from "../../smtp/interop/_live/messages.ts";
import { bearerToken } from "../../smtp/interop/_live/raw.ts";

/** Both servers call themselves this; it is also DIGEST-MD5's digest-uri host. */
const SERVER_NAME = "mail.example.com";
const MECHANISMS = ["SCRAM-SHA-256", "SCRAM-SHA-1", "DIGEST-MD5", "CRAM-MD5", "PLAIN", "LOGIN"];
/** What the servers are started with: SCRAM is offered only when asked for. */
const SENDMAIL_OFFERS = MECHANISMS;
const POSTFIX_OFFERS = [...MECHANISMS, "OAUTHBEARER", "XOAUTH2"];

/** Sends one tagged message through nodemailer; returns what the server queued. */
async function send(
  peer: SmtpPeer,
  user: PeerUser,
  label: string,
  auth: Partial<NodemailerAuthOptions>,
  body?: string,
): Promise<{ queued: string; mechanisms: string[]; message: TestMessage }> {
  const message = testMessage(`nodemailer ${label}`, body);
  const mechanisms: string[] = [];
  const transporter = nodemailer.createTransport({
    host: peer.host,
    port: peer.port,
    name: "client.example.com",
    ignoreTLS: true,
    ...nodemailerAuth({
      user: user.username,
      pass: auth.token === undefined ? user.password : undefined,
      host: SERVER_NAME,
      onAttempt: (a) => mechanisms.push(`${a.mechanism}:${a.result}:${a.qop}`),
      ...auth,
    }),
  });
  try {
    await transporter.sendMail({ envelope: { from: FROM, to: [TO] }, raw: message.data });
  } finally {
    transporter.close();
  }
  return { queued: await queuedMessage(peer, message), mechanisms, message };
}

Deno.test({
  name: "nodemailer with saslkit against Sendmail + Cyrus SASL",
  ...requirePeer("sendmail"),
  fn: async (t) => {
    const peer = await startSendmail({ layers: true, mechanisms: SENDMAIL_OFFERS });
    try {
      for (const user of peer.users) {
        for (const mechanism of MECHANISMS) {
          await t.step(`${mechanism} as ${user.username}`, async () => {
            const sent = await send(peer, user, `${mechanism} ${user.username}`, {
              mechanisms: [mechanism],
              allowCleartext: mechanism === "PLAIN" || mechanism === "LOGIN",
            });
            assert.deepEqual(sent.mechanisms, [`${mechanism}:authenticated:auth`]);
            assert.equal(authenticatedBits(sent.queued), 0);
          });
        }
      }

      await t.step("no options: the strongest offered, SCRAM-SHA-256", async () => {
        const sent = await send(peer, peer.users[0], "defaults", {});
        assert.deepEqual(sent.mechanisms, ["SCRAM-SHA-256:authenticated:auth"]);
      });

      const layers = [
        { qop: "auth-int", cipher: undefined, bits: 1 },
        { qop: "auth-conf", cipher: "rc4", bits: 128 },
        { qop: "auth-conf", cipher: "des", bits: 55 },
      ] as const;
      for (const { qop, cipher, bits } of layers) {
        await t.step(
          `DIGEST-MD5 ${qop}${cipher ? ` ${cipher}` : ""}: 20 KB queued intact`,
          async () => {
            const sent = await send(peer, peer.users[0], `layer ${qop} ${cipher ?? ""}`, {
              mechanisms: ["DIGEST-MD5"],
              digestMd5: { qop: [qop], ciphers: cipher ? [cipher] : undefined },
            }, bigBody());
            assert.deepEqual(sent.mechanisms, [`DIGEST-MD5:authenticated:${qop}`]);
            assert.equal(authenticatedBits(sent.queued), bits);
            assertSendmailBody(sent.queued, sent.message);
          },
        );
      }
    } finally {
      await peer.stop();
    }
  },
});

Deno.test({
  name: "nodemailer with saslkit against Postfix + Dovecot SASL",
  ...requirePeer("postfix"),
  fn: async (t) => {
    const peer = await startPostfixDovecot({ mechanisms: POSTFIX_OFFERS });
    try {
      // The third user, scramuser, is stored only as a SCRAM-SHA-256 secret.
      for (const user of peer.users.slice(0, 2)) {
        for (const mechanism of MECHANISMS) {
          await t.step(`${mechanism} as ${user.username}`, async () => {
            const sent = await send(peer, user, `${mechanism} ${user.username} postfix`, {
              mechanisms: [mechanism],
              allowCleartext: mechanism === "PLAIN" || mechanism === "LOGIN",
              // Dovecot hashes non-ASCII DIGEST-MD5 credentials as UTF-8 (see the README).
              digestMd5: { credentialEncoding: "utf-8" },
            });
            assert.deepEqual(sent.mechanisms, [`${mechanism}:authenticated:auth`]);
          });
        }
      }

      await t.step(
        "scramuser (a SCRAM-SHA-256 secret only): the default order finds it",
        async () => {
          const scramuser = peer.users[2];
          const sent = await send(peer, scramuser, "scramuser", {});
          assert.deepEqual(sent.mechanisms, ["SCRAM-SHA-256:authenticated:auth"]);
        },
      );

      for (const mechanism of ["OAUTHBEARER", "XOAUTH2"]) {
        await t.step(`${mechanism}: a stale token, refreshed once, then sent`, async () => {
          const requests: boolean[] = [];
          const sent = await send(
            peer,
            { username: "smtpuser@example.com", password: "" },
            mechanism,
            {
              token: ({ refresh }) => {
                requests.push(refresh);
                // The first token is signed with a key Dovecot does not know.
                return refresh
                  ? bearerToken(peer, { sub: "smtpuser@example.com" })
                  : bearerToken(peer, { sub: "smtpuser@example.com" }, new Uint8Array(32));
              },
              mechanisms: [mechanism],
              allowCleartext: true, // loopback: a bearer token without TLS
            },
          );
          assert.deepEqual(requests, [false, true]);
          assert.deepEqual(sent.mechanisms, [
            `${mechanism}:bad-credentials:undefined`,
            `${mechanism}:authenticated:auth`,
          ]);
        });
      }
    } finally {
      await peer.stop();
    }
  },
});
