/**
 * DIGEST-MD5 with a confidentiality layer, both sides in one process: what a protocol
 * implementation does after AUTH succeeds with `qop=auth-conf`.
 *
 * Run: `deno run examples/digest_md5_layer.ts`
 *
 * @module
 */

import { DigestMd5Client, DigestMd5Server, encodeBase64, frame, FrameDecoder } from "@saslkit/sasl";
// The ciphers are objects an app imports one by one, so it bundles only those it names; this
// server offers every one (allCiphers), the client accepts only triple DES.
import { allCiphers, tripleDes } from "@saslkit/sasl/digest-md5/ciphers";

const server = new DigestMd5Server({
  service: "imap",
  host: "imap.example.com",
  realms: ["example.com"],
  qop: ["auth", "auth-int", "auth-conf"],
  ciphers: allCiphers,
  credentials: (user) => user === "chris" ? { password: "secret" } : undefined,
});
const client = new DigestMd5Client({
  username: "chris",
  password: "secret",
  service: "imap",
  host: "imap.example.com",
  // This program applies the layer below, so it may ask for one.
  qop: ["auth-conf"],
  ciphers: [tripleDes],
});

const text = new TextDecoder();
client.start();
const challenge = server.next(undefined).challenge!;
console.log(`S: ${text.decode(challenge)}`);
const response = client.next(challenge);
console.log(`C: ${text.decode(response).replace(/response=\w+/, "response=***")}`);
const final = server.next(response);
console.log(`S: ${text.decode(final.challenge!)}  (done: ${final.done})`);
client.next(final.challenge!); // checks rspauth: the server knows the password
const outcome = client.finish();
console.log(`agreed: qop=${outcome.qop} cipher=${outcome.cipher}`);

// Every byte from now on goes through the layer, framed with a 4-byte length.
const wire = frame(outcome.securityLayer!.wrap(new TextEncoder().encode('a001 LIST "" *\r\n')));
console.log(`wire: ${encodeBase64(wire)}`);
const [buffer] = new FrameDecoder(server.outcome().securityLayer!.maxIncomingSize).push(wire);
console.log(
  `server reads: ${JSON.stringify(text.decode(server.outcome().securityLayer!.unwrap(buffer)))}`,
);
