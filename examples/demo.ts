/**
 * The main job of saslkit, in one command and without root: the Sendmail/Net::SMTP failure
 * reproduced against an embedded server that behaves like Sendmail with Cyrus SASL, then
 * avoided, then a server that drops the connection after `235` handled by falling back.
 *
 * Run: `npm run demo` (or `deno run -A examples/demo.ts`).
 *
 * @module
 */

import { decodeBase64, DigestMd5Client, encodeBase64 } from "@saslkit/sasl";
import { allCiphers } from "@saslkit/sasl/digest-md5/ciphers";
import {
  authenticate,
  type AuthenticateOptions,
  type AuthResult,
  connectTcp,
  SmtpError,
  SmtpSession,
  type TranscriptEntry,
} from "@saslkit/smtp";
import {
  startTestServer,
  type TestServer,
  type TestServerBehaviour,
} from "@saslkit/smtp/test-server";

const USER = "smtpuser";
// A demo credential of the embedded server; never printed (transcripts show *** instead).
const PASSWORD = "demo-secret";
const MESSAGE = {
  from: "alice@example.com",
  to: ["bob@example.com"],
  data: "Subject: saslkit demo\r\n\r\nHello over SMTP AUTH.\r\n",
};

const show = (entry: TranscriptEntry) =>
  console.log(`    ${entry.direction}: ${entry.layered ? "[layer] " : ""}${entry.text}`);
const heading = (text: string) => console.log(`\n=== ${text}\n`);

async function naiveClient(server: TestServer): Promise<void> {
  // What Net::SMTP with Authen::SASL did: DIGEST-MD5, the strongest qop the server offers,
  // then the next command in plaintext, because nothing wraps the socket.
  const session = await SmtpSession.open(
    await connectTcp({ host: server.hostname, port: server.port }),
    { timeoutMs: 5000 },
  );
  const mechanism = new DigestMd5Client({
    username: USER,
    password: PASSWORD,
    service: "smtp",
    host: "mail.example.com",
    qop: ["auth-conf", "auth-int", "auth"],
    ciphers: allCiphers, // rc4 first, as Authen::SASL picks
  });
  mechanism.start();
  const decoder = new TextDecoder();
  await session.ehlo("client.example.com");
  console.log("    C: AUTH DIGEST-MD5");
  let reply = await session.command("AUTH DIGEST-MD5");
  const challenge = decodeBase64(reply.lines[0]);
  console.log(`    S: 334 ${decoder.decode(challenge)}`);
  const response = mechanism.next(challenge);
  console.log(
    `    C: ${decoder.decode(response).replace(/response=[0-9a-f]+/, "response=***")}`,
  );
  reply = await session.command(encodeBase64(response));
  const rspauth = decodeBase64(reply.lines[0]);
  console.log(`    S: 334 ${decoder.decode(rspauth)}`);
  reply = await session.command(encodeBase64(mechanism.next(rspauth)));
  console.log(`    S: ${reply.code} ${reply.lines.join(" ")}`);
  const outcome = mechanism.finish();
  console.log(`    (agreed: qop=${outcome.qop}, cipher=${outcome.cipher}; nothing applies it)`);
  console.log(`    C: MAIL FROM:<${MESSAGE.from}>   (in plaintext)`);
  try {
    await session.command(`MAIL FROM:<${MESSAGE.from}>`);
    console.log("    unexpected: the server answered");
  } catch (error) {
    if (!(error instanceof SmtpError)) throw error;
    console.log(`    client: ${error.code}: ${error.message}`);
  }
  session.close();
  await new Promise((resolve) => setTimeout(resolve, 50));
  for (const line of server.transcript.filter((l) => l.direction === "!")) {
    console.log(`    server log: ${line.line}`);
  }
}

async function main(): Promise<void> {
  console.log("saslkit demo: an embedded SMTP server behaving like Sendmail + Cyrus SASL,");
  console.log("advertising AUTH DIGEST-MD5 CRAM-MD5 LOGIN PLAIN, DIGEST-MD5 offering");
  console.log('qop="auth,auth-int,auth-conf" — the server of the original report.');

  heading("1. The original failure: a layer agreed on, then not applied");
  await withServer({}, naiveClient);

  heading("2. saslkit, default policy: qop=auth, because the caller applies no layer");
  await withServer({}, async (server) => {
    const result = await send(server, {});
    console.log(`\n    authenticated with ${result.mechanism}, qop=${result.outcome.qop}`);
    console.log(`    server accepted ${server.messages.length} message(s)`);
  });

  heading("3. saslkit, opting in to auth-conf: every later command is wrapped");
  await withServer({}, async (server) => {
    const result = await send(server, { digestMd5: { qop: ["auth-conf", "auth-int", "auth"] } });
    console.log(
      `\n    authenticated with ${result.mechanism}, qop=${result.outcome.qop}, ` +
        `cipher=${result.outcome.cipher}`,
    );
    console.log(`    server accepted the message over qop=${server.messages[0]?.qop}`);
  });

  heading("4. A server that drops the connection right after 235 for DIGEST-MD5");
  await withServer({ dropAfterAuth: ["DIGEST-MD5"] }, async (server) => {
    const result = await send(server, {
      onAttempt: (a) => console.log(`  -> attempt ${a.mechanism}: ${a.result}`),
    });
    const cleartextTried = server.transcript.some((l) => /^AUTH (PLAIN|LOGIN)/.test(l.line));
    console.log(
      `\n    fell back to ${result.mechanism} on connection ${server.connections}; ` +
        `server accepted ${server.messages.length} message(s); PLAIN/LOGIN sent on this ` +
        `unencrypted connection: ${cleartextTried ? "yes (a bug!)" : "never"}`,
    );
  });
}

async function withServer(
  behaviour: TestServerBehaviour,
  run: (server: TestServer) => Promise<void>,
): Promise<void> {
  const server = await startTestServer({ users: { [USER]: PASSWORD }, behaviour });
  try {
    await run(server);
  } finally {
    await server.close();
  }
}

// The fallback policy, then one message, with the decoded transcript shown as it happens.
async function send(
  server: TestServer,
  options: Partial<AuthenticateOptions>,
): Promise<AuthResult> {
  const result = await authenticate({
    host: "mail.example.com",
    connect: () => connectTcp({ host: server.hostname, port: server.port }),
    security: "none",
    ehloName: "client.example.com",
    credentials: { username: USER, password: PASSWORD },
    transcript: show,
    ...options,
  });
  await result.session.sendMail(MESSAGE);
  await result.session.quit();
  return result;
}

await main();
