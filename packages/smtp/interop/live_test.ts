// saslkit's SMTP client against the real servers of servers.ts: Sendmail 8.17 + Cyrus SASL 2.1.28
// (the server of the motivating report: DIGEST-MD5 with qop auth, auth-int and auth-conf and five
// ciphers, maxbuf 8192) and Postfix 3.7 + Dovecot 2.3 (DIGEST-MD5 with qop=auth only). Every
// message is looked up again in the server's queue; every security layer is checked on the wire.
//
// Needs what scripts/peers/mail.sh installs (root, Debian): without it the tests fail under
// CI=true and are skipped, loudly, elsewhere.

import assert from "node:assert/strict";
import { allCiphers, CramMd5Client, DigestMd5Client, SaslError } from "@saslkit/sasl";
import {
  authenticate,
  type AuthenticateOptions,
  type AuthResult,
  type DigestCipher,
  type Qop,
  SmtpAuthError,
  SmtpError,
  type SmtpReply,
  SmtpSession,
} from "../mod.ts";
import { main } from "../cli.ts";
import {
  type PeerUser,
  requirePeer,
  type SmtpPeer,
  startPostfixDovecot,
  startSendmail,
} from "./servers.ts";
import { containsBytes, frameLengths, WireRecorder } from "./_live/wire.ts";
import {
  assertSendmailBody,
  authenticatedBits,
  bigBody,
  FROM,
  queuedMessage,
  type TestMessage,
  testMessage,
  TO,
} from "./_live/messages.ts";
import {
  count,
  logWhen,
  postfixQueueId,
  runPerlRepro,
  sendmailConnectionLog,
  sendmailQueueId,
} from "./_live/logs.ts";

/** Both servers call themselves this; it is also DIGEST-MD5's digest-uri host. */
const SERVER_NAME = "mail.example.com";
const EHLO_NAME = "client.example.com";
const MECHANISMS = ["DIGEST-MD5", "CRAM-MD5", "PLAIN", "LOGIN"] as const;
const CLEARTEXT = new Set(["PLAIN", "LOGIN"]);
/** Sendmail's maxbuf: no security-layer buffer may be longer. */
const SENDMAIL_MAXBUF = 8192;

/** What saslkit did on one connection that authenticated and sent a message. */
interface Sent {
  readonly result: AuthResult;
  readonly wire: WireRecorder;
  readonly message: TestMessage;
  readonly reply: SmtpReply;
  /** The message as the server queued it. */
  readonly queued: string;
}

function policyOptions(
  peer: SmtpPeer,
  wire: WireRecorder,
  extra: Partial<AuthenticateOptions> = {},
): AuthenticateOptions {
  return {
    host: SERVER_NAME,
    port: peer.port,
    security: "none",
    ehloName: EHLO_NAME,
    credentials: peer.users[0],
    connect: wire.connect,
    transcript: wire.sink,
    // Dovecot delays the next authentication after a failure by seconds.
    timeoutMs: 20_000,
    ...extra,
  };
}

/** Authenticates with the policy, checks NOOP, sends one message and finds it in the queue. */
async function authenticateAndSend(
  peer: SmtpPeer,
  label: string,
  extra: Partial<AuthenticateOptions> = {},
  body?: string,
): Promise<Sent> {
  const wire = new WireRecorder(peer);
  const result = await authenticate(policyOptions(peer, wire, extra));
  const { session } = result;
  try {
    assert.equal((await session.noop()).code, 250);
    const message = testMessage(label, body);
    const sent = await session.sendMail({ from: FROM, to: [TO], data: message.data });
    const { reply } = sent;
    assert.equal(reply.code, 250);
    assert.deepEqual(sent.accepted, [TO]);
    await session.quit();
    const queued = await queuedMessage(peer, message);
    // The queue id read from the final reply is the one the server wrote into Received.
    assert.ok(sent.queueId, `no queue id read from ${reply.lines.join(" / ")}`);
    assert.ok(queued.includes(sent.queueId), `${sent.queueId} is not in the queued message`);
    return { result, wire, message, reply, queued };
  } finally {
    session.close();
  }
}

/** The policy's failure, which it must throw. */
async function authenticateFails(
  peer: SmtpPeer,
  wire: WireRecorder,
  extra: Partial<AuthenticateOptions>,
): Promise<SmtpAuthError> {
  try {
    const { session } = await authenticate(policyOptions(peer, wire, extra));
    await session.quit();
  } catch (error) {
    assert.ok(error instanceof SmtpAuthError, `not an SmtpAuthError: ${error}`);
    return error;
  }
  assert.fail(`authenticated, but should not have (${JSON.stringify(extra.mechanisms)})`);
}

/** RFC 3461 xtext, as Sendmail writes the authid into its log. */
function xtext(text: string): string {
  let out = "";
  for (const byte of new TextEncoder().encode(text)) {
    out += byte > 32 && byte < 127 && byte !== 43 && byte !== 61
      ? String.fromCharCode(byte)
      : `+${byte.toString(16).toUpperCase().padStart(2, "0")}`;
  }
  return out;
}

/** A Sendmail connection log without any trace of a broken security layer. */
function assertNoLayerError(lines: readonly string[]): void {
  const bad = lines.filter((line) =>
    /sasl_decode|sasl_encode|encoded packet size|lost input channel/.test(line)
  );
  assert.deepEqual(bad, [], "the Sendmail log shows a layer failure");
}

/** Checks what a layered session really wrote after AUTH. */
function assertLayeredWire(wire: WireRecorder, qop: Qop, bodyMarker: string): void {
  const plain = wire.writes.filter((w) => !w.layered);
  const layered = wire.layeredWrites();
  assert.ok(layered.length >= 6, `only ${layered.length} layered writes`);
  // Nothing in the clear once the layer is on.
  assert.ok(wire.writes.findIndex((w) => w.layered) === plain.length, "a plain write after AUTH");
  const lengths = layered.map((bytes) => frameLengths(bytes));
  const longest = Math.max(...lengths.flat());
  assert.ok(longest <= SENDMAIL_MAXBUF, `a buffer of ${longest} bytes exceeds maxbuf 8192`);
  // The ~20 KB body cannot fit one buffer: it is split.
  assert.ok(Math.max(...lengths.map((l) => l.length)) >= 3, "the body was not split");
  const inClear =
    layered.filter((bytes) =>
      containsBytes(bytes, "MAIL FROM:<") || containsBytes(bytes, bodyMarker)
    ).length;
  if (qop === "auth-conf") {
    assert.equal(inClear, 0, "auth-conf sent the envelope or the body in the clear");
  } else {
    // auth-int protects integrity only: the text is there, but inside frames.
    assert.equal(inClear, 2, "auth-int: expected MAIL FROM and the body inside frames");
  }
}

/** Sendmail's SSF for each layer (Cyrus: auth-int 1, else the cipher's key bits). */
const LAYERS: readonly { qop: Qop; cipher?: DigestCipher; bits: number }[] = [
  { qop: "auth-int", bits: 1 },
  { qop: "auth-conf", cipher: "rc4-40", bits: 40 },
  { qop: "auth-conf", cipher: "rc4-56", bits: 56 },
  { qop: "auth-conf", cipher: "rc4", bits: 128 },
  { qop: "auth-conf", cipher: "des", bits: 55 },
];

Deno.test({
  name: "saslkit against Sendmail + Cyrus SASL (security layers on)",
  ...requirePeer("sendmail"),
  fn: async (t) => {
    const started = performance.now();
    const peer = await startSendmail({ layers: true });
    console.log(`  sendmail up in ${Math.round(performance.now() - started)} ms`);
    try {
      await t.step("1. each mechanism alone, for both users, sends a message", async (t) => {
        assert.deepEqual(peer.users.map((u) => u.username), ["smtpuser", "jürgen"]);
        for (const user of peer.users) {
          for (const mechanism of MECHANISMS) {
            await t.step(`${mechanism} as ${user.username}`, async () => {
              const sent = await authenticateAndSend(peer, `${mechanism} ${user.username}`, {
                credentials: user,
                mechanisms: [mechanism],
                allowCleartext: CLEARTEXT.has(mechanism),
              });
              const { result, wire } = sent;
              assert.equal(result.mechanism, mechanism);
              assert.deepEqual(
                result.attempts.map((a) => [a.mechanism, a.result, a.qop]),
                [[mechanism, "authenticated", "auth"]],
              );
              assert.equal(result.outcome.authenticationId, user.username);
              assert.equal(result.session.securityLayer, undefined);
              assert.deepEqual(
                wire.clientLines().filter((line) => line.startsWith("AUTH")),
                [`AUTH ${mechanism}${
                  mechanism === "PLAIN" ? ` \\x00${user.username}\\x00***` : ""
                }`],
              );
              assert.equal(authenticatedBits(sent.queued), 0);
              assertSendmailBody(sent.queued, sent.message);
              const log = await sendmailConnectionLog(peer, sendmailQueueId(sent.reply));
              assert.ok(
                log.some((line) =>
                  line.includes(`authid=${xtext(user.username)}, mech=${mechanism}, bits=0`)
                ),
                `Sendmail did not log AUTH ${mechanism} for ${user.username}:\n${log.join("\n")}`,
              );
            });
          }
        }
      });

      await t.step("2. DIGEST-MD5 with every qop and cipher", async (t) => {
        const cases = [
          ...LAYERS.map((layer) => ({ ...layer, user: peer.users[0] })),
          { qop: "auth-conf" as const, cipher: "rc4" as const, bits: 128, user: peer.users[1] },
        ];
        for (const { qop, cipher, bits, user } of cases) {
          const label = `${qop}${cipher ? ` ${cipher}` : ""} as ${user.username}`;
          await t.step(`${label}: negotiated, applied, 20 KB body queued intact`, async () => {
            const sent = await authenticateAndSend(
              peer,
              `DIGEST-MD5 ${label}`,
              {
                credentials: user,
                mechanisms: ["DIGEST-MD5"],
                digestMd5: { qop: [qop, "auth"], ciphers: cipher ? [cipher] : undefined },
              },
              bigBody(),
            );
            const { result, wire } = sent;
            assert.equal(result.outcome.qop, qop);
            assert.equal(result.outcome.cipher, cipher);
            assert.deepEqual(
              result.attempts.map((a) => [a.mechanism, a.result, a.qop, a.cipher]),
              [["DIGEST-MD5", "authenticated", qop, cipher]],
            );
            const layer = result.session.securityLayer;
            assert.ok(layer, "no security layer in force");
            assert.ok(layer.maxPlaintextSize < SENDMAIL_MAXBUF);
            const response = wire.clientLines().find((line) => line.includes("digest-uri="));
            assert.match(response ?? "", new RegExp(`qop=${qop}(,cipher=${cipher})?$`));
            assert.match(response ?? "", /digest-uri="smtp\/mail\.example\.com"/);
            assertLayeredWire(wire, qop, "line 0001 abcdef");
            // The server's own account: the SSF it agreed on, and the body byte for byte.
            assert.equal(authenticatedBits(sent.queued), bits);
            assertSendmailBody(sent.queued, sent.message);
            const log = await sendmailConnectionLog(peer, sendmailQueueId(sent.reply));
            assertNoLayerError(log);
            assert.ok(log.some((line) => line.includes(`mech=DIGEST-MD5, bits=${bits}`)));
            assert.ok(log.some((line) => line.includes("<-- QUIT")), "QUIT did not arrive");
          });
        }

        await t.step("auth-conf with 3des: Cyrus fails it with 535 5.7.0", async () => {
          const wire = new WireRecorder(peer);
          const error = await authenticateFails(peer, wire, {
            mechanisms: ["DIGEST-MD5"],
            digestMd5: { qop: ["auth-conf", "auth-int", "auth"], ciphers: ["3des"] },
          });
          assert.equal(error.code, "auth-rejected");
          assert.equal(error.attempts.length, 1);
          const [attempt] = error.attempts;
          // Indistinguishable on the wire from a wrong password: the policy counts it as one.
          assert.equal(attempt.result, "bad-credentials");
          assert.equal(attempt.reply?.code, 535);
          assert.equal(attempt.reply?.enhancedCode, "5.7.0");
          assert.deepEqual(attempt.reply?.lines, ["authentication failed"]);
          const lines = wire.transcript.map((e) => `${e.direction}: ${e.text}`);
          assert.ok(
            lines.some((l) => /^C: .*,qop=auth-conf,cipher=3des$/.test(l)),
            lines.join("\n"),
          );
          // Cyrus refuses right after the digest-response: no rspauth, no 235, and the
          // connection stays up (QUIT gets its 221).
          assert.ok(!lines.some((l) => /^S: (235|334 rspauth)/.test(l)), lines.join("\n"));
          assert.match(lines.at(-1)!, /^S: 221 /);
          // The cause, in Sendmail's log: Cyrus builds 3DES keys OpenSSL 3 will not take.
          const log = await logWhen(peer, (text) => text.includes("couldn't init cipher '3des'"));
          assert.match(
            log,
            /AUTH failure \(DIGEST-MD5\): generic failure \(-1\) .*couldn't init cipher '3des'/,
          );
        });

        await t.step("auth-conf with 3des: the policy falls back to CRAM-MD5", async () => {
          const sent = await authenticateAndSend(peer, "3des fallback", {
            mechanisms: ["DIGEST-MD5", "CRAM-MD5"],
            digestMd5: { qop: ["auth-conf", "auth-int", "auth"], ciphers: ["3des"] },
          });
          const { result } = sent;
          assert.equal(result.mechanism, "CRAM-MD5");
          assert.deepEqual(
            result.attempts.map((a) => [a.mechanism, a.result, a.reply?.code]),
            [["DIGEST-MD5", "bad-credentials", 535], ["CRAM-MD5", "authenticated", undefined]],
          );
          assert.equal(result.outcome.qop, "auth");
          assert.equal(result.session.securityLayer, undefined);
        });
      });

      await t.step("3. the motivating bug: Net::SMTP fails, saslkit does not", async (t) => {
        await t.step("Net::SMTP + Authen::SASL agree to auth-conf and lose MAIL FROM", async () => {
          const result = await runPerlRepro(peer);
          const detail = JSON.stringify(result);
          assert.equal(result.mechanism, "DIGEST-MD5", detail);
          assert.equal(result.qop, "auth-conf", detail);
          assert.equal(result.cipher, "rc4", detail);
          assert.equal(result.auth?.code, "235", detail);
          assert.equal(result.mail?.ok, false, detail);
          assert.equal(result.mail?.connected, false, detail);
          assert.equal(result.sent, false, detail);
          const log = await logWhen(peer, (text) => text.includes("sasl_decode error"));
          assert.match(log, /encoded packet size too big \(1296124236 > 8192\)/);
          assert.equal(count(log, "sasl_decode error"), 1);
        });

        await t.step("authenticate() with its defaults: DIGEST-MD5, qop=auth, sent", async () => {
          const wire = new WireRecorder(peer);
          // Only what an application must give: no mechanisms, no qop, no cleartext.
          const result = await authenticate({
            host: SERVER_NAME,
            port: peer.port,
            security: "none",
            ehloName: EHLO_NAME,
            credentials: peer.users[0],
            connect: wire.connect,
            transcript: wire.sink,
          });
          const message = testMessage("defaults");
          let reply: SmtpReply;
          try {
            assert.equal(result.mechanism, "DIGEST-MD5");
            assert.equal(result.outcome.qop, "auth");
            assert.equal(result.session.securityLayer, undefined);
            ({ reply } = await result.session.sendMail({
              from: FROM,
              to: [TO],
              data: message.data,
            }));
            await result.session.quit();
          } finally {
            result.session.close();
          }
          const queued = await queuedMessage(peer, message);
          assert.equal(authenticatedBits(queued), 0);
          assertNoLayerError(await sendmailConnectionLog(peer, sendmailQueueId(reply)));
        });

        await t.step("qop auth-conf: the layer the Perl client agreed to, applied", async () => {
          const sent = await authenticateAndSend(peer, "auth-conf like the report", {
            digestMd5: { qop: ["auth-conf", "auth-int", "auth"] },
          });
          assert.equal(sent.result.mechanism, "DIGEST-MD5");
          assert.equal(sent.result.outcome.qop, "auth-conf");
          assert.equal(sent.result.outcome.cipher, "rc4");
          assert.ok(sent.result.session.securityLayer);
          assert.equal(authenticatedBits(sent.queued), 128);
          const log = await sendmailConnectionLog(peer, sendmailQueueId(sent.reply));
          assertNoLayerError(log);
          assert.ok(log.some((line) => line.includes("<-- MAIL FROM:<")));
        });

        await t.step("the only sasl_decode error in the log is the Perl client's", async () => {
          assert.equal(count(await peer.log(), "sasl_decode error"), 1);
        });
      });

      await t.step("minQop auth-conf: CRAM-MD5 never tried, DIGEST-MD5 with a layer", async () => {
        const sent = await authenticateAndSend(peer, "minQop on Sendmail", {
          mechanisms: ["CRAM-MD5", "DIGEST-MD5"],
          minQop: "auth-conf",
          digestMd5: { ciphers: ["rc4"] },
        });
        assert.deepEqual(sent.result.attempts.map((a) => [a.mechanism, a.result, a.qop]), [
          ["CRAM-MD5", "insufficient-protection", undefined],
          ["DIGEST-MD5", "authenticated", "auth-conf"],
        ]);
        assert.equal(sent.result.outcome.cipher, "rc4");
        assert.ok(!sent.wire.clientLines().some((line) => line.includes("CRAM-MD5")));
      });

      await t.step("4. fallback against the real server", async (t) => {
        await t.step(
          "an unadvertised first mechanism is skipped on the same connection",
          async () => {
            const sent = await authenticateAndSend(peer, "not offered", {
              mechanisms: ["OAUTHBEARER", "DIGEST-MD5"],
            });
            assert.deepEqual(
              sent.result.attempts.map((a) => [a.mechanism, a.result]),
              [["DIGEST-MD5", "authenticated"]],
            );
            assert.deepEqual(sent.result.skipped.map((s) => s.name), ["OAUTHBEARER"]);
            const lines = sent.wire.clientLines();
            assert.equal(lines.filter((line) => line.startsWith("EHLO")).length, 1);
            assert.ok(!lines.some((line) => line.includes("OAUTHBEARER")), "OAUTHBEARER was sent");
          },
        );

        await t.step("a wrong password: 535 twice, then stop; PLAIN/LOGIN never sent", async () => {
          const traffic = async () => {
            const log = await peer.log();
            return count(log, "<<< AUTH PLAIN") + count(log, "<<< AUTH LOGIN");
          };
          const before = await traffic();
          const wire = new WireRecorder(peer);
          const error = await authenticateFails(peer, wire, {
            credentials: { username: "smtpuser", password: "wrong" },
            allowCleartext: true,
          });
          assert.equal(error.code, "auth-rejected");
          assert.match(error.message, /rejected the credentials/);
          // Sendmail says 5.7.0, not RFC 4954's 5.7.8; the 535 decides.
          assert.deepEqual(
            error.attempts.map((
              a,
            ) => [a.mechanism, a.result, a.reply?.code, a.reply?.enhancedCode]),
            [
              ["DIGEST-MD5", "bad-credentials", 535, "5.7.0"],
              ["CRAM-MD5", "bad-credentials", 535, "5.7.0"],
            ],
          );
          assert.equal(error.reply?.code, 535);
          assert.deepEqual(
            wire.clientLines().filter((line) => line.startsWith("AUTH")),
            ["AUTH DIGEST-MD5", "AUTH CRAM-MD5"],
          );
          assert.equal(await traffic(), before, "Sendmail received AUTH PLAIN or AUTH LOGIN");
        });

        await t.step("PLAIN and LOGIN only, without allowCleartext: nothing sent", async () => {
          const wire = new WireRecorder(peer);
          const error = await authenticateFails(peer, wire, { mechanisms: ["PLAIN", "LOGIN"] });
          assert.equal(error.code, "cleartext-refused");
          assert.deepEqual(error.attempts, []);
          assert.deepEqual(
            error.skipped.map((s) => [s.name, s.reason]),
            [["PLAIN", "needs-tls"], ["LOGIN", "needs-tls"]],
          );
          assert.ok(!wire.clientLines().some((line) => line.startsWith("AUTH")));
        });
      });

      await t.step("5. the CLI", async (t) => {
        const env = { SMTP_PASSWORD: peer.users[0].password };
        const base = [
          "--host",
          "127.0.0.1",
          "--port",
          String(peer.port),
          "--no-starttls",
          "--ehlo",
          EHLO_NAME,
          "--user",
          peer.users[0].username,
          "--password-env",
          "SMTP_PASSWORD",
          "--json",
        ];

        await t.step("probe: all four mechanisms authenticate and survive NOOP", async () => {
          let stdout = "";
          let stderr = "";
          // No --servername: digest-uri is then smtp/127.0.0.1, and Cyrus does not check the
          // host part of digest-uri (only the service).
          const status = await main(["probe", ...base, "--allow-cleartext", "--verbose"], {
            env,
            stdout: (text) => stdout += text,
            stderr: (text) => stderr += text,
          });
          assert.equal(status, 0, stderr + stdout);
          assert.ok(!stdout.includes(peer.users[0].password), "the password is in the output");
          const report = JSON.parse(stdout);
          assert.equal(report.error, null);
          assert.deepEqual(report.ehlo.auth, ["DIGEST-MD5", "CRAM-MD5", "LOGIN", "PLAIN"]);
          assert.deepEqual(
            report.results.map((
              r: { mechanism: string; result: string; survivedNextCommand: boolean; qop: string },
            ) => [r.mechanism, r.result, r.survivedNextCommand, r.qop]),
            [
              ["DIGEST-MD5", "authenticated", true, "auth"],
              ["CRAM-MD5", "authenticated", true, "auth"],
              ["LOGIN", "authenticated", true, "auth"],
              ["PLAIN", "authenticated", true, "auth"],
            ],
          );
          assert.ok(
            report.transcript.some((e: { text: string }) =>
              e.text.includes('digest-uri="smtp/127.0.0.1"')
            ),
          );
        });

        await t.step("probe --qop auth-conf --cipher des: the layer survives NOOP", async () => {
          let stdout = "";
          const status = await main(
            [
              "probe",
              ...base,
              "--mechanisms",
              "DIGEST-MD5",
              "--qop",
              "auth-conf",
              "--cipher",
              "des",
            ],
            { env, stdout: (text) => stdout += text, stderr: () => {} },
          );
          assert.equal(status, 0, stdout);
          const [result] = JSON.parse(stdout).results;
          assert.equal(result.result, "authenticated");
          assert.equal(result.qop, "auth-conf");
          assert.equal(result.cipher, "des");
          assert.equal(result.survivedNextCommand, true);
        });

        await t.step("send --qop auth-conf queues the message", async () => {
          const subject = `saslkit live cli ${crypto.randomUUID()}`;
          let stdout = "";
          let stderr = "";
          const status = await main(
            [
              "send",
              ...base,
              "--servername",
              SERVER_NAME,
              "--qop",
              "auth-conf",
              "--from",
              FROM,
              "--to",
              TO,
              "--subject",
              subject,
            ],
            {
              env,
              stdin: ".a line that starts with a dot\nsent by saslkit-smtp send\n",
              stdout: (text) => stdout += text,
              stderr: (text) => stderr += text,
            },
          );
          assert.equal(status, 0, stderr + stdout);
          const report = JSON.parse(stdout);
          assert.equal(report.accepted, true);
          assert.equal(report.mechanism, "DIGEST-MD5");
          assert.equal(report.qop, "auth-conf");
          assert.equal(report.cipher, "rc4");
          assert.equal(report.reply.code, 250);
          const queued = (await peer.queuedMessages()).filter((text) => text.includes(subject));
          assert.equal(queued.length, 1);
          assert.match(
            queued[0],
            /\n\.a line that starts with a dot\nsent by saslkit-smtp send\n$/,
          );
          assert.equal(authenticatedBits(queued[0]), 128);
        });
      });
    } finally {
      await peer.stop();
    }
  },
});

Deno.test({
  name: "saslkit against Postfix + Dovecot SASL",
  ...requirePeer("postfix"),
  fn: async (t) => {
    const started = performance.now();
    const peer = await startPostfixDovecot();
    console.log(`  postfix up in ${Math.round(performance.now() - started)} ms`);
    const [smtpuser, jurgen] = peer.users;
    const qualified = (user: PeerUser): PeerUser => ({
      ...user,
      username: `${user.username}@${peer.realm}`,
    });
    // Dovecot penalizes a client after each failed authentication by delaying its next one by
    // seconds (and a success resets that): every success comes first, every failure last.
    try {
      await t.step("EHLO: AUTH and AUTH= read as one list", async () => {
        const wire = new WireRecorder(peer);
        const session = await SmtpSession.open(await wire.connect());
        try {
          const capabilities = await session.ehlo(EHLO_NAME);
          assert.deepEqual(capabilities.auth, ["PLAIN", "LOGIN", "CRAM-MD5", "DIGEST-MD5"]);
          assert.equal(capabilities.startTls, false);
        } finally {
          await session.quit();
        }
      });

      await t.step("6. each mechanism alone sends a message", async (t) => {
        const cases: [PeerUser, string][] = [];
        for (const mechanism of MECHANISMS) {
          cases.push([smtpuser, mechanism], [qualified(smtpuser), mechanism]);
        }
        // Not DIGEST-MD5: see "jürgen with DIGEST-MD5" below.
        for (const mechanism of ["CRAM-MD5", "PLAIN", "LOGIN"]) cases.push([jurgen, mechanism]);
        for (const [user, mechanism] of cases) {
          await t.step(`${mechanism} as ${user.username}`, async () => {
            const sent = await authenticateAndSend(peer, `${mechanism} ${user.username}`, {
              credentials: user,
              mechanisms: [mechanism],
              allowCleartext: CLEARTEXT.has(mechanism),
            });
            assert.equal(sent.result.mechanism, mechanism);
            assert.deepEqual(
              sent.result.attempts.map((a) => [a.mechanism, a.result, a.qop]),
              [[mechanism, "authenticated", "auth"]],
            );
            assert.equal(sent.result.session.securityLayer, undefined);
            // Dovecot qualifies the name with the realm; Postfix logs the name Dovecot returns.
            const queueId = postfixQueueId(sent.reply);
            const log = await logWhen(peer, (text) => text.includes(`${queueId}: client=`));
            const name = user.username.includes("@") ? user.username : qualified(user).username;
            assert.ok(
              log.includes(
                `${queueId}: client=unknown[127.0.0.1], sasl_method=${mechanism}, ` +
                  `sasl_username=${name}\n`,
              ),
              log.split("\n").filter((line) => line.includes(queueId)).join("\n"),
            );
          });
        }
      });

      await t.step(
        "minQop auth-int against Dovecot (qop=auth only): refused, clearly",
        async () => {
          const wire = new WireRecorder(peer);
          const error = await authenticateFails(peer, wire, {
            mechanisms: ["DIGEST-MD5", "CRAM-MD5"],
            minQop: "auth-int",
          });
          assert.equal(error.code, "insufficient-protection");
          assert.match(error.message, /the server offers qop auth/);
          assert.deepEqual(error.attempts.map((a) => a.result), [
            "insufficient-protection",
            "insufficient-protection",
          ]);
        },
      );

      await t.step("6. DIGEST-MD5 asked for auth-conf gets qop=auth", async (t) => {
        await t.step("policy: 'at most auth-conf' accepts auth, no layer", async () => {
          const sent = await authenticateAndSend(peer, "auth-conf on Dovecot", {
            mechanisms: ["DIGEST-MD5", "CRAM-MD5"],
            digestMd5: { qop: ["auth-conf", "auth-int", "auth"] },
          });
          assert.equal(sent.result.mechanism, "DIGEST-MD5");
          assert.deepEqual(
            sent.result.attempts.map((a) => [a.mechanism, a.result, a.qop]),
            [["DIGEST-MD5", "authenticated", "auth"]],
          );
          assert.equal(sent.result.session.securityLayer, undefined);
        });

        await t.step(
          "a client that insists on auth-conf: no-acceptable-qop, then CRAM-MD5",
          async () => {
            const wire = new WireRecorder(peer);
            const session = await SmtpSession.open(await wire.connect(), { transcript: wire.sink });
            try {
              await session.ehlo(EHLO_NAME);
              const strict = new DigestMd5Client({
                username: smtpuser.username,
                password: smtpuser.password,
                service: "smtp",
                host: SERVER_NAME,
                qop: ["auth-conf"],
                ciphers: allCiphers,
              });
              const error = await session.authenticate(strict).then(
                () => assert.fail("DIGEST-MD5 authenticated without auth-conf"),
                (error: unknown) => error,
              );
              assert.ok(error instanceof SmtpError);
              assert.equal(error.code, "auth-client");
              assert.ok(error.cause instanceof SaslError);
              assert.equal(error.cause.code, "no-acceptable-qop");
              // The exchange was cancelled with "*", and the connection goes on.
              const lines = wire.transcript.map((e) => `${e.direction}: ${e.text}`);
              assert.ok(lines.includes("C: *"), lines.join("\n"));
              assert.ok(lines.some((l) => l.startsWith("S: 501 ")), lines.join("\n"));
              const outcome = await session.authenticate(new CramMd5Client(smtpuser));
              assert.equal(outcome.mechanism, "CRAM-MD5");
              const message = testMessage("after no-acceptable-qop");
              assert.equal(
                (await session.sendMail({ from: FROM, to: [TO], data: message.data })).reply.code,
                250,
              );
              await session.quit();
              await queuedMessage(peer, message);
            } finally {
              session.close();
            }
          },
        );
      });

      await t.step("jürgen with DIGEST-MD5 and credentialEncoding utf-8: accepted", async () => {
        const wire = new WireRecorder(peer);
        const session = await SmtpSession.open(await wire.connect(), { transcript: wire.sink });
        try {
          await session.ehlo(EHLO_NAME);
          const outcome = await session.authenticate(
            new DigestMd5Client({
              username: jurgen.username,
              password: jurgen.password,
              service: "smtp",
              host: SERVER_NAME,
              credentialEncoding: "utf-8",
            }),
          );
          assert.equal(outcome.qop, "auth");
          await session.noop();
          await session.quit();
        } finally {
          session.close();
        }
      });

      await t.step("jürgen with DIGEST-MD5: Dovecot hashes UTF-8, 535, CRAM-MD5 next", async () => {
        // RFC 2831 §2.1.2.1: credentials that fit ISO-8859-1 are hashed in ISO-8859-1 (as
        // saslkit and Cyrus do); Dovecot 2.3 hashes the UTF-8 bytes, so it refuses saslkit's
        // response for a name or password like jürgen/pässwörd.
        const sent = await authenticateAndSend(peer, "jürgen fallback", {
          credentials: jurgen,
          mechanisms: ["DIGEST-MD5", "CRAM-MD5"],
        });
        assert.equal(sent.result.mechanism, "CRAM-MD5");
        assert.deepEqual(
          sent.result.attempts.map((a) => [a.mechanism, a.result, a.reply?.enhancedCode]),
          [["DIGEST-MD5", "bad-credentials", "5.7.8"], ["CRAM-MD5", "authenticated", undefined]],
        );
        const mismatch = /digest-md5\(jürgen@example\.com,127\.0\.0\.1\): Password mismatch/;
        assert.match(await logWhen(peer, (text) => mismatch.test(text)), mismatch);
      });

      await t.step("7. a wrong password: 535 5.7.8 twice, then stop", async () => {
        const cleartextAuths = async () => {
          const log = await peer.log();
          return count(log, "]: AUTH PLAIN") + count(log, "]: AUTH LOGIN");
        };
        const before = await cleartextAuths();
        const wire = new WireRecorder(peer);
        const error = await authenticateFails(peer, wire, {
          credentials: { username: "smtpuser", password: "wrong" },
          allowCleartext: true,
        });
        assert.equal(error.code, "auth-rejected");
        assert.deepEqual(
          error.attempts.map((a) => [a.mechanism, a.result, a.reply?.code, a.reply?.enhancedCode]),
          [
            ["DIGEST-MD5", "bad-credentials", 535, "5.7.8"],
            ["CRAM-MD5", "bad-credentials", 535, "5.7.8"],
          ],
        );
        assert.deepEqual(
          wire.clientLines().filter((line) => line.startsWith("AUTH")),
          ["AUTH DIGEST-MD5", "AUTH CRAM-MD5"],
        );
        assert.equal(await cleartextAuths(), before, "Postfix received AUTH PLAIN or AUTH LOGIN");
      });
    } finally {
      await peer.stop();
    }
  },
});
