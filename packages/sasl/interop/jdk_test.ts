// DIGEST-MD5 interop with the JDK's own implementation (javax.security.sasl):
// - live: saslkit client ↔ JDK server and JDK client ↔ saslkit server through ./peer.ts, for
//   every qop and cipher, with and without authzid, with non-ASCII credentials, then wrapped
//   buffers both ways;
// - offline: the checked-in JDK ↔ JDK transcripts of ../testdata/jdk, replayed with the
//   recorded nonces injected.
// Without java/javac the live tests are skipped, except under CI=true where they fail.

import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import process from "node:process";
import {
  allCiphers,
  ciphersByName,
  decodeBase64,
  DigestMd5Client,
  DigestMd5Server,
  encodeBase64,
  type SaslOutcome,
  type SecurityLayer,
} from "../mod.ts";
import { SaslError, type SaslErrorCode } from "../error.ts";
import {
  exchangeWrapped,
  type Peer,
  PeerError,
  peerWrapSide,
  runClientWithPeerServer,
  runPeerClientWithServer,
  runPeers,
} from "./peer.ts";
import { CASES, clientConfig, HOST, type InteropCase, serverConfig, SERVICE } from "./jdk/cases.ts";
import { jdkPeer, startJdkPeer } from "./jdk/jdk_peer.ts";
import { readTranscripts, type Transcript } from "./jdk/transcript.ts";

const jdk = jdkPeer();
const live = jdk.ok;
if (!jdk.ok) {
  if (process.env.CI === "true") {
    Deno.test("JDK peer is available (required under CI)", () => {
      throw new Error(`JDK interop cannot run under CI: ${jdk.reason}`);
    });
  } else {
    console.warn(
      `\n!!! ${"=".repeat(70)}\n!!! JDK DIGEST-MD5 interop tests SKIPPED: ${jdk.reason}.\n` +
        `!!! Install a JDK (javac and java on PATH) to run them.\n!!! ${"=".repeat(70)}\n`,
    );
  }
}

const ALL_QOPS = ["auth", "auth-int", "auth-conf"] as const;
const text = new TextEncoder();

function newClient(c: InteropCase, extra: { cnonce?: () => string } = {}): DigestMd5Client {
  return new DigestMd5Client({
    username: c.username,
    password: c.password,
    service: SERVICE,
    host: HOST,
    ...(c.authzid !== undefined ? { authorizationId: c.authzid } : {}),
    realm: c.realm,
    qop: [c.qop],
    ...(c.cipher !== undefined ? { ciphers: ciphersByName([c.cipher]) } : {}),
    ...(c.clientMaxbuf !== undefined ? { maxbuf: c.clientMaxbuf } : {}),
    ...extra,
  });
}

function newServer(
  c: InteropCase,
  extra: { nonce?: () => string; secret?: boolean } = {},
): DigestMd5Server {
  return new DigestMd5Server({
    service: SERVICE,
    host: HOST,
    realms: [c.realm],
    qop: ALL_QOPS,
    ciphers: allCiphers,
    ...(c.serverMaxbuf !== undefined ? { maxbuf: c.serverMaxbuf } : {}),
    credentials: (username, realm) => {
      if (username !== c.username || realm !== c.realm) return undefined;
      if (extra.secret) return { secret: userSecret(c.username, c.realm, c.password) };
      return { password: c.password };
    },
    authorize: (authenticationId, authorizationId) =>
      authorizationId === authenticationId || authorizationId === c.authzid,
    ...(extra.nonce ? { nonce: extra.nonce } : {}),
  });
}

// RFC 2831 §2.1.2.1: each of username, realm and password in ISO-8859-1 when it fits, else
// UTF-8 — computed here independently of saslkit.
function rfc2831Bytes(value: string): Uint8Array {
  for (let i = 0; i < value.length; i++) {
    if (value.charCodeAt(i) > 0xff) return text.encode(value);
  }
  return Uint8Array.from(value, (ch) => ch.charCodeAt(0));
}

function userSecret(username: string, realm: string, password: string): Uint8Array {
  const colon = new Uint8Array([0x3a]);
  const hash = createHash("md5");
  for (const part of [rfc2831Bytes(username), colon, rfc2831Bytes(realm), colon]) {
    hash.update(part);
  }
  hash.update(rfc2831Bytes(password));
  return new Uint8Array(hash.digest());
}

function assertSaslError(fn: () => unknown, codes: readonly SaslErrorCode[]): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof SaslError, `expected SaslError, got ${error}`);
    assert.ok(codes.includes(error.code), `unexpected code ${error.code}: ${error.message}`);
    return true;
  });
}

async function withPeers<T>(peers: Peer[], fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } finally {
    for (const peer of peers) await peer.close();
  }
}

function checkOutcome(c: InteropCase, outcome: SaslOutcome): void {
  assert.equal(outcome.mechanism, "DIGEST-MD5");
  assert.equal(outcome.qop, c.qop);
  assert.equal(outcome.cipher, c.cipher);
  assert.equal(outcome.securityLayer === undefined, c.qop === "auth");
  if (outcome.securityLayer) {
    assert.equal(outcome.securityLayer.qop, c.qop);
    assert.equal(outcome.securityLayer.cipher, c.cipher);
  }
}

// ---------------------------------------------------------------------------------------------
// The driver proven against the JDK alone, independently of saslkit's DIGEST-MD5.

for (const name of ["auth", "auth-conf-3des-authzid", "cjk-auth-conf-rc4", "latin1-auth-int"]) {
  const c = CASES.find((x) => x.name === name)!;
  Deno.test({
    name: `jdk self-test: JDK client ↔ JDK server through the driver (${name})`,
    ignore: !live,
    async fn() {
      const server = await startJdkPeer(serverConfig(c));
      const client = await startJdkPeer(clientConfig(c));
      await withPeers([client, server], async () => {
        const result = await runPeers(client, server);
        assert.equal(result.client.qop, c.qop);
        assert.equal(result.server.qop, c.qop);
        assert.equal(result.server.cipher, c.cipher);
        assert.equal(result.server.user, c.username);
        assert.equal(result.server.authzid, c.authzid ?? c.username);
        assert.equal(result.messages.length, 4); // challenge, response, rspauth, empty
        if (c.qop !== "auth") {
          const records = await exchangeWrapped(peerWrapSide(client), server, {
            largeToPeer: Number(result.client.rawSendSize),
            largeFromPeer: Number(result.server.rawSendSize),
          });
          assert.ok(records.length >= 20);
        }
      });
    },
  });
}

// ---------------------------------------------------------------------------------------------
// Live: saslkit against the JDK.

for (const c of CASES) {
  Deno.test({
    name: `jdk live: saslkit client ↔ JDK server (${c.name})`,
    ignore: !live,
    async fn() {
      const server = await startJdkPeer(serverConfig(c));
      await withPeers([server], async () => {
        const result = await runClientWithPeerServer(newClient(c), server);
        checkOutcome(c, result.client);
        assert.equal(result.peer.qop, c.qop);
        assert.equal(result.peer.cipher, c.cipher);
        assert.equal(result.peer.user, c.username);
        assert.equal(result.peer.authzid, c.authzid ?? c.username);
        const layer = result.client.securityLayer;
        if (layer) {
          if (c.serverMaxbuf !== undefined) assert.ok(layer.maxPlaintextSize <= c.serverMaxbuf);
          await exchangeWrapped(layer, server, { largeFromPeer: Number(result.peer.rawSendSize) });
        }
      });
    },
  });

  Deno.test({
    name: `jdk live: JDK client ↔ saslkit server (${c.name})`,
    ignore: !live,
    async fn() {
      const client = await startJdkPeer(clientConfig(c));
      await withPeers([client], async () => {
        const result = await runPeerClientWithServer(client, newServer(c));
        checkOutcome(c, result.server);
        assert.equal(result.server.authenticationId, c.username);
        assert.equal(result.server.authorizationId, c.authzid);
        assert.equal(result.peer.qop, c.qop);
        assert.equal(result.peer.cipher, c.cipher);
        const layer = result.server.securityLayer;
        if (layer) {
          if (c.clientMaxbuf !== undefined) assert.ok(layer.maxPlaintextSize <= c.clientMaxbuf);
          await exchangeWrapped(layer, client, { largeFromPeer: Number(result.peer.rawSendSize) });
        }
      });
    },
  });
}

Deno.test({
  name: "jdk live: rspauth delivered as success data (finish(data)) verifies the JDK server",
  ignore: !live,
  async fn() {
    for (const name of ["auth", "cjk-auth-conf-3des"]) {
      const c = CASES.find((x) => x.name === name)!;
      const server = await startJdkPeer(serverConfig(c));
      await withPeers([server], async () => {
        const result = await runClientWithPeerServer(newClient(c), server, { successData: true });
        checkOutcome(c, result.client);
        if (result.client.securityLayer) await exchangeWrapped(result.client.securityLayer, server);
      });
    }
  },
});

Deno.test({
  name: "jdk live: saslkit server with a stored secret H({username:realm:password})",
  ignore: !live,
  async fn() {
    for (const name of ["latin1-auth-int", "cjk-auth", "latin1-realm-auth"]) {
      const c = CASES.find((x) => x.name === name)!;
      const client = await startJdkPeer(clientConfig(c));
      await withPeers([client], async () => {
        const result = await runPeerClientWithServer(client, newServer(c, { secret: true }));
        checkOutcome(c, result.server);
        if (result.server.securityLayer) await exchangeWrapped(result.server.securityLayer, client);
      });
    }
  },
});

Deno.test({
  name: "jdk live: saslkit client picks the strongest qop the JDK offers and agrees on a cipher",
  ignore: !live,
  async fn() {
    const c = CASES.find((x) => x.name === "auth")!;
    const server = await startJdkPeer(serverConfig(c));
    await withPeers([server], async () => {
      const client = new DigestMd5Client({
        username: c.username,
        password: c.password,
        service: SERVICE,
        host: HOST,
        qop: ALL_QOPS,
        ciphers: allCiphers,
      });
      const result = await runClientWithPeerServer(client, server);
      assert.equal(result.client.qop, "auth-conf");
      assert.equal(result.peer.qop, "auth-conf");
      assert.equal(result.peer.cipher, result.client.cipher);
      await exchangeWrapped(result.client.securityLayer!, server);
    });
  },
});

Deno.test({
  name: "jdk live: the JDK client takes its first preference among what saslkit offers",
  ignore: !live,
  async fn() {
    const c = CASES.find((x) => x.name === "auth")!;
    const peer = await startJdkPeer({
      ...clientConfig(c),
      qop: "auth-conf,auth-int,auth",
      ciphers: "rc4-40,3des",
    });
    await withPeers([peer], async () => {
      const result = await runPeerClientWithServer(peer, newServer(c));
      assert.equal(result.server.qop, "auth-conf");
      assert.equal(result.server.cipher, "rc4-40");
      await exchangeWrapped(result.server.securityLayer!, peer);
    });
  },
});

Deno.test({
  name: "jdk live: failures on either side are reported, not hung",
  ignore: !live,
  async fn() {
    const c = CASES.find((x) => x.name === "auth-int")!;
    // saslkit accepts only auth-conf; the JDK server offers only auth.
    let server = await startJdkPeer({ ...serverConfig(c), qop: "auth" });
    await withPeers([server], async () => {
      const client = new DigestMd5Client({
        username: c.username,
        password: c.password,
        service: SERVICE,
        host: HOST,
        qop: ["auth-conf"],
        ciphers: allCiphers,
      });
      assert.equal(client.start(), undefined);
      const challenge = await server.expect("C");
      assertSaslError(() => client.next(challenge.data), ["no-acceptable-qop"]);
    });
    // Wrong password, saslkit client: the JDK server refuses.
    server = await startJdkPeer(serverConfig(c));
    await withPeers([server], async () => {
      const client = newClient({ ...c, password: "wrong" });
      await assert.rejects(runClientWithPeerServer(client, server), PeerError);
    });
    // Wrong password, JDK client: saslkit refuses.
    const peer = await startJdkPeer({ ...clientConfig(c), password: "wrong" });
    await withPeers([peer], async () => {
      const saslkit = newServer(c);
      await assert.rejects(runPeerClientWithServer(peer, saslkit), (error: unknown) => {
        assert.ok(error instanceof SaslError);
        assert.equal(error.code, "authentication-failed");
        return true;
      });
    });
    // An authzid the JDK server does not allow.
    server = await startJdkPeer(serverConfig(c));
    await withPeers([server], async () => {
      const client = newClient({ ...c, authzid: "root" });
      await assert.rejects(runClientWithPeerServer(client, server), /not authorized/);
    });
  },
});

Deno.test({
  name: "jdk live: tampered and replayed layer buffers are refused by both sides",
  ignore: !live,
  async fn() {
    for (const name of ["auth-int", "auth-conf-3des", "auth-conf-rc4"]) {
      const c = CASES.find((x) => x.name === name)!;
      // saslkit's layer is fail-closed after any error, so each check gets its own session.
      let server = await startJdkPeer(serverConfig(c));
      await withPeers([server], async () => {
        const layer = (await runClientWithPeerServer(newClient(c), server)).client.securityLayer!;
        const first = await server.wrap(text.encode("250 OK\r\n"));
        assert.deepEqual(layer.unwrap(first), text.encode("250 OK\r\n"));
        // With auth-int the MAC of a replay is fine but its sequence number is old; with a
        // cipher the keystream or CBC chain has moved on, so the MAC no longer matches.
        assertSaslError(() => layer.unwrap(first), ["sequence-mismatch", "integrity-check-failed"]);
      });
      server = await startJdkPeer(serverConfig(c));
      await withPeers([server], async () => {
        const layer = (await runClientWithPeerServer(newClient(c), server)).client.securityLayer!;
        // The JDK answers a bad MAC or padding with an empty plaintext, not an exception.
        const bad = layer.wrap(text.encode("QUIT\r\n")).slice();
        bad[bad.length - 7] ^= 1; // the MAC's last byte (auth-int) or the last cipher byte
        assert.equal((await server.unwrap(bad)).length, 0);
        const tampered = (await server.wrap(text.encode("221 Bye\r\n"))).slice();
        tampered[0] ^= 1;
        assertSaslError(() => layer.unwrap(tampered), ["integrity-check-failed"]);
      });
    }
  },
});

// ---------------------------------------------------------------------------------------------
// Offline: the checked-in transcripts.

const transcripts = readTranscripts();

Deno.test("jdk transcripts: present and covering every qop and cipher", () => {
  assert.ok(transcripts.length >= 20, `only ${transcripts.length} transcripts`);
  const covered = new Set(transcripts.map((t) => `${t.case.qop}/${t.case.cipher ?? ""}`));
  for (const key of ["auth/", "auth-int/", "auth-conf/3des", "auth-conf/des"]) {
    assert.ok(covered.has(key), key);
  }
  for (const key of ["auth-conf/rc4", "auth-conf/rc4-56", "auth-conf/rc4-40"]) {
    assert.ok(covered.has(key), key);
  }
  for (const t of transcripts) {
    assert.equal(t.format, 1);
    assert.deepEqual(t.messages.map((m) => m.from), ["server", "client", "server", "client"]);
  }
});

function message(t: Transcript, index: number): Uint8Array {
  return decodeBase64(t.messages[index].base64);
}

function directiveOf(bytes: Uint8Array, name: string): string | undefined {
  // Digests and tokens are ASCII, so a Latin-1 view finds them in any charset.
  const view = String.fromCharCode(...bytes);
  const match = new RegExp(`(?:^|,)\\s*${name}\\s*=\\s*"?([^",]*)"?`).exec(view);
  return match?.[1];
}

// Wraps `side`'s recorded plaintexts and unwraps the other side's buffers, in recorded order.
// The JDK lets a peer send up to maxbuf - 16 (auth-int) or maxbuf - 26 (auth-conf) bytes of
// plaintext, not counting the 4-byte length; saslkit, like Cyrus, also subtracts those 4 bytes
// (and 25 for auth-conf), so it refuses the JDK's largest buffers, which are recorded last.
function replayLayer(layer: SecurityLayer, t: Transcript, side: "client" | "server"): void {
  let refused = false;
  for (const w of t.wrapped) {
    if (w.from !== side) {
      assert.equal(encodeBase64(layer.unwrap(decodeBase64(w.wrapped))), w.plaintext);
      continue;
    }
    const plaintext = decodeBase64(w.plaintext);
    assert.equal(refused, false, "a refused buffer must be the last of its direction");
    if (plaintext.length > layer.maxPlaintextSize) {
      assertSaslError(() => layer.wrap(plaintext), ["buffer-too-large"]);
      refused = true;
      continue;
    }
    assert.equal(encodeBase64(layer.wrap(plaintext)), w.wrapped);
  }
}

for (const t of transcripts) {
  Deno.test(`jdk transcript ${t.name}: saslkit server verifies the JDK client`, () => {
    const server = newServer(t.case, { nonce: () => t.values.nonce });
    const first = server.next(undefined);
    assert.equal(first.done, false);
    assert.equal(directiveOf(first.challenge!, "nonce"), t.values.nonce);
    const final = server.next(message(t, 1));
    assert.equal(final.done, true);
    assert.equal(encodeBase64(final.challenge!), t.messages[2].base64, "rspauth differs");
    const outcome = server.outcome();
    checkOutcome(t.case, outcome);
    assert.equal(outcome.authenticationId, t.case.username);
    assert.equal(outcome.authorizationId, t.case.authzid);
    const layer = outcome.securityLayer;
    if (!layer) return;
    replayLayer(layer, t, "server");
  });

  Deno.test(`jdk transcript ${t.name}: saslkit client reproduces the JDK client`, () => {
    const client = newClient(t.case, { cnonce: () => t.values.cnonce });
    assert.equal(client.start(), undefined);
    const response = client.next(message(t, 0));
    assert.equal(directiveOf(response, "response"), t.values.response, "response= differs");
    assert.equal(directiveOf(response, "cnonce"), t.values.cnonce);
    assert.equal(directiveOf(response, "qop"), t.case.qop);
    assert.equal(directiveOf(response, "cipher"), t.case.cipher);
    assert.equal(client.next(message(t, 2)).length, 0);
    const outcome = client.finish();
    checkOutcome(t.case, outcome);
    const layer = outcome.securityLayer;
    if (!layer) return;
    // Deterministic given the keys and sequence numbers: the client's buffers come out
    // byte-identical, and the server's unwrap to the recorded plaintexts.
    replayLayer(layer, t, "client");
  });
}
