// Runs against the installed @saslkit/sasl tarball; see README.md.
import assert from "node:assert/strict";
import { createRequire } from "node:module";

const text = (bytes) => new TextDecoder().decode(bytes);
const bytes = (string) => new TextEncoder().encode(string);

export default async function smoke(sasl) {
  // One SaslError class whichever subpath threw: code bundled into the subpath files (scram,
  // saslprep, digest-md5) throws the class the main entry exports, by import() and by require().
  const require = createRequire(import.meta.url);
  for (const load of [(path) => import(path), (path) => Promise.resolve(require(path))]) {
    const scram = await load("@saslkit/sasl/scram");
    assert.throws(
      () => new scram.InMemoryScramCache({ maxEntries: 0 }),
      (error) => error instanceof sasl.SaslError && error.code === "invalid-argument",
    );
    const { saslprep } = await load("@saslkit/sasl/saslprep");
    await assert.rejects(
      saslprep("\u0007"),
      (error) => error instanceof sasl.SaslError && error.code === "invalid-argument",
    );
    const digest = await load("@saslkit/sasl/digest-md5");
    assert.equal(digest.DigestMd5Client, sasl.DigestMd5Client);
    assert.throws(
      () => new digest.DigestMd5Client({ username: "u", password: "p", service: "", host: "h" }),
      (error) => error instanceof sasl.SaslError && error.code === "invalid-argument",
    );
    // The main entry's registry holds SCRAM's own descriptors, not copies of them.
    assert.equal(sasl.defaultRegistry.get("SCRAM-SHA-256"), scram.scramSha256Mechanism);
    assert.equal(sasl.ScramClient, scram.ScramClient);
  }

  // Strict base64, both ways, and its stable error code.
  assert.equal(sasl.encodeBase64(bytes("\0tim\0tanstaaftanstaaf")), "AHRpbQB0YW5zdGFhZnRhbnN0YWFm");
  assert.equal(text(sasl.decodeBase64("AHRpbQB0YW5zdGFhZnRhbnN0YWFm")), "\0tim\0tanstaaftanstaaf");
  assert.throws(
    () => sasl.decodeBase64("AAE"),
    (error) => error instanceof sasl.SaslError && error.code === "invalid-base64",
  );

  // Security-layer framing, split across chunks.
  const wire = sasl.frame(new Uint8Array([1, 2, 3]));
  assert.deepEqual(wire, new Uint8Array([0, 0, 0, 3, 1, 2, 3]));
  const decoder = new sasl.FrameDecoder(1024);
  assert.deepEqual(decoder.push(wire.subarray(0, 5)), []);
  assert.deepEqual(decoder.push(wire.subarray(5)), [new Uint8Array([1, 2, 3])]);

  // A PLAIN exchange, both sides.
  const client = new sasl.PlainClient({ username: "tim", password: "tanstaaftanstaaf" });
  const server = new sasl.PlainServer({
    verify: (user, password) => user === "tim" && password === "tanstaaftanstaaf",
  });
  const step = server.next(client.start());
  assert.equal(step.done, true);
  assert.equal(server.outcome().authenticationId, "tim");
  assert.equal(client.finish().qop, "auth");

  // DIGEST-MD5 with a confidentiality layer for each cipher: runs @noble/hashes, the DES tables and
  // node:crypto as installed from the registry, not from the workspace.
  for (const cipher of ["3des", "des", "rc4", "rc4-56", "rc4-40"]) {
    const digestServer = new sasl.DigestMd5Server({
      service: "smtp",
      host: "mail.example.com",
      realms: ["example.com"],
      qop: ["auth-conf"],
      ciphers: sasl.allCiphers,
      credentials: (user) => user === "chris" ? { password: "secret" } : undefined,
    });
    const digestClient = new sasl.DigestMd5Client({
      username: "chris",
      password: "secret",
      service: "smtp",
      host: "mail.example.com",
      qop: ["auth-conf"],
      ciphers: sasl.ciphersByName([cipher]),
    });
    assert.equal(digestClient.start(), undefined);
    const final = digestServer.next(digestClient.next(digestServer.next(undefined).challenge));
    assert.equal(final.done, true);
    digestClient.next(final.challenge);
    const clientSide = digestClient.finish();
    const serverSide = digestServer.outcome();
    assert.equal(clientSide.qop, "auth-conf");
    assert.equal(clientSide.cipher, cipher);
    assert.equal(serverSide.authenticationId, "chris");
    const message = bytes("MAIL FROM:<chris@example.com>\r\n");
    assert.deepEqual(
      serverSide.securityLayer.unwrap(clientSide.securityLayer.wrap(message)),
      message,
    );
    assert.deepEqual(
      clientSide.securityLayer.unwrap(serverSide.securityLayer.wrap(message)),
      message,
    );
  }
}
