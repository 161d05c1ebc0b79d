/**
 * nodemailer with saslkit's mechanisms and fallback, against the embedded test server (which
 * behaves like Sendmail with Cyrus SASL): first a server that offers DIGEST-MD5 but refuses
 * it — saslkit moves on to CRAM-MD5 on the same connection, where nodemailer alone would have
 * stopped — then a server that says `235` for DIGEST-MD5 and drops the connection, where
 * `sendMailWithFallback` sends the message on a new connection, exactly once; last, a caller
 * who opts in to DIGEST-MD5's confidentiality layer gets it applied to every byte after `235`
 * (through a socket of saslkit's own handed to nodemailer's `getSocket`).
 *
 * Run: `deno run --allow-net=127.0.0.1 --allow-env --allow-read examples/nodemailer.ts`
 * (nodemailer comes from node_modules, as `npm ci` installed it).
 *
 * @module
 */

import nodemailer from "nodemailer";
import { nodemailerAuth, sendMailWithFallback } from "@saslkit/adapters/nodemailer";
import { startTestServer, type TestServer } from "@saslkit/smtp/test-server";

const MESSAGE = {
  from: "alice@example.com",
  to: "bob@example.com",
  subject: "saslkit inside nodemailer",
  text: "Hello over SMTP AUTH.",
};

// The transport options as a nodemailer user writes them, with saslkit spread in.
function options(server: TestServer) {
  return {
    host: server.hostname,
    port: server.port,
    name: "client.example.com", // nodemailer would otherwise ask the OS for the host name
    ignoreTLS: true, // the embedded server has no certificate here
    ...nodemailerAuth({
      user: "smtpuser",
      pass: "secret", // the embedded server's demo credential; never printed
      host: "mail.example.com", // DIGEST-MD5's digest-uri names the server
      onAttempt: (a) => console.log(`    attempt: ${a.mechanism} -> ${a.result}`),
    }),
  };
}

console.log("1. The server advertises DIGEST-MD5 but answers 504 to it");
let server = await startTestServer({ behaviour: { rejectAdvertised: ["DIGEST-MD5"] } });
try {
  const transporter = nodemailer.createTransport(options(server));
  const info = await transporter.sendMail(MESSAGE);
  transporter.close();
  const [message] = server.messages;
  console.log(`    nodemailer: ${info.response}`);
  console.log(`    server received ${server.messages.length} message via ${message.mechanism}`);
} finally {
  await server.close();
}

console.log("\n2. The server says 235 for DIGEST-MD5, then drops the connection");
server = await startTestServer({ behaviour: { dropAfterAuth: ["DIGEST-MD5"] } });
try {
  const result = await sendMailWithFallback(options(server), MESSAGE);
  console.log(
    `    sent with ${result.mechanism} on connection ${result.connections}; ` +
      `the server counted ${server.messages.length} message(s)`,
  );
} finally {
  await server.close();
}

console.log("\n3. Opting in to DIGEST-MD5 with a confidentiality layer, as Sendmail offers it");
server = await startTestServer();
try {
  const transporter = nodemailer.createTransport({
    ...options(server),
    ...nodemailerAuth({
      user: "smtpuser",
      pass: "secret",
      host: "mail.example.com",
      digestMd5: { qop: ["auth-conf", "auth"], ciphers: ["rc4"] },
    }),
  });
  await transporter.sendMail(MESSAGE);
  transporter.close();
  const [message] = server.messages;
  const layered = server.transcript.filter((e) => e.direction === "C" && e.layered).length;
  console.log(
    `    server received the message over qop=${message.qop}; ` +
      `${layered} client lines crossed the wire inside the layer`,
  );
} finally {
  await server.close();
}
