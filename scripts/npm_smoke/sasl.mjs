// Runs against the installed @saslkit/sasl tarball; see README.md.
import assert from "node:assert/strict";

const text = (bytes) => new TextDecoder().decode(bytes);
const bytes = (string) => new TextEncoder().encode(string);

export default function smoke(sasl) {
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
