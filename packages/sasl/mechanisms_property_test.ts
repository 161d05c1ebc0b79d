// Property tests (fast-check) across mechanisms: the client and server of every mechanism agree
// for arbitrary credentials, Unicode included; every parser reads back what its serializer
// writes; the MD5 backends (native and portable) agree on any input.
import assert from "node:assert/strict";
import fc from "fast-check";
import {
  CramMd5Client,
  CramMd5Server,
  decodeBase64,
  DigestMd5Client,
  DigestMd5Server,
  encodeBase64,
  frame,
  FrameDecoder,
  LoginClient,
  LoginServer,
  PlainClient,
  PlainServer,
  SaslError,
} from "./mod.ts";
import { deriveScramCredentials, ScramClient, ScramServer } from "./scram/mod.ts";
import { parseDirectives, quote } from "./digest_md5/_directives.ts";
import { parseChallenge } from "./digest_md5/_challenge.ts";
import { allCiphers } from "./digest_md5/ciphers.ts";
import { md5Backend, nobleMd5Backend, nodeMd5Backend } from "./_hash.ts";

const RUNS = { numRuns: 60, seed: 20261201 };
const enc = new TextEncoder();

// Names and passwords: any Unicode, no C0 control or DEL (which every mechanism refuses in
// names), non-empty, within PLAIN's 255 octets.
const text = fc.string({ unit: "grapheme", minLength: 1, maxLength: 40 }).filter((s) =>
  ![...s].some((c) => c.charCodeAt(0) < 0x20 || c === "\x7f") && enc.encode(s).length <= 255
);

const common = fc.oneof(
  text,
  fc.string({
    unit: fc.constantFrom(..."abcXYZ019 _-.@é€ßÅñ漢字Ωжπ"),
    minLength: 1,
    maxLength: 20,
  }),
);

// Runs `exchange` for credentials a client accepts; a client that refuses them at once must do
// so with invalid-argument. Returns whether the credentials were accepted.
async function agreeOrRefuse(exchange: () => unknown): Promise<boolean> {
  try {
    await exchange();
    return true;
  } catch (error) {
    if (error instanceof SaslError && error.code === "invalid-argument") return false;
    throw error;
  }
}

Deno.test("mechanisms property: PLAIN client and server agree for any credentials", () => {
  fc.assert(
    fc.property(text, text, fc.option(text), (username, password, authzid) => {
      const client = new PlainClient({ username, password, authorizationId: authzid ?? undefined });
      let seen: [string, string] | undefined;
      const server = new PlainServer({
        verify: (u, p) => (seen = [u, p], u === username && p === password),
        authorize: (u, z) => u === username && z === authzid,
      });
      const step = server.next(client.start());
      assert.equal(step.done, true);
      assert.deepEqual(seen, [username, password]);
      assert.equal(server.outcome().authenticationId, username);
      assert.equal(server.outcome().authorizationId ?? null, authzid || null);
      client.finish();
    }),
    RUNS,
  );
});

Deno.test("mechanisms property: LOGIN client and server agree for any credentials", () => {
  fc.assert(
    fc.property(text, text, (username, password) => {
      const client = new LoginClient({ username, password });
      const server = new LoginServer({ verify: (u, p) => u === username && p === password });
      let challenge = server.next(client.start());
      while (!challenge.done) challenge = server.next(client.next(challenge.challenge!));
      assert.equal(server.outcome().authenticationId, username);
      client.finish();
    }),
    RUNS,
  );
});

Deno.test("mechanisms property: CRAM-MD5 client and server agree for any credentials", async () => {
  let accepted = 0;
  await fc.assert(
    fc.asyncProperty(text, text, async (username, password) => {
      const ok = await agreeOrRefuse(() => {
        const client = new CramMd5Client({ username, password });
        const server = new CramMd5Server({
          password: (u) => u === username ? password : undefined,
        });
        client.start();
        const step = server.next(client.next(server.next(undefined).challenge!));
        assert.equal(step.done, true);
        assert.equal(server.outcome().authenticationId, username);
        client.finish();
      });
      if (ok) accepted++;
    }),
    RUNS,
  );
  assert.ok(accepted > RUNS.numRuns / 2, `only ${accepted} credentials accepted`);
});

Deno.test("mechanisms property: DIGEST-MD5 client and server agree for any credentials and realm", () => {
  fc.assert(
    fc.property(
      text,
      text,
      text.filter((r) => !r.includes('"') || true),
      fc.option(text),
      fc.constantFrom<("auth" | "auth-int" | "auth-conf")>("auth", "auth-int", "auth-conf"),
      (username, password, realm, authzid, qop) => {
        const server = new DigestMd5Server({
          service: "smtp",
          host: "mail.example.com",
          realms: [realm],
          qop: [qop],
          ciphers: allCiphers,
          credentials: (u, r) => u === username && r === realm ? { password } : undefined,
          authorize: (u, z) => u === username && z === authzid,
        });
        const client = new DigestMd5Client({
          username,
          password,
          service: "smtp",
          host: "mail.example.com",
          authorizationId: authzid ?? undefined,
          qop: [qop],
          ciphers: allCiphers,
        });
        client.start();
        const last = server.next(client.next(server.next(undefined).challenge!));
        assert.equal(last.done, true);
        client.next(last.challenge!);
        const outcome = client.finish();
        assert.equal(server.outcome().authenticationId, username);
        assert.equal(outcome.qop, qop);
        if (qop !== "auth") {
          const data = enc.encode(username + password);
          assert.deepEqual(
            server.outcome().securityLayer!.unwrap(outcome.securityLayer!.wrap(data)),
            data,
          );
        }
      },
    ),
    RUNS,
  );
});

Deno.test("mechanisms property: SCRAM-SHA-256 client and server agree for any credentials", async () => {
  let accepted = 0;
  await fc.assert(
    // Half of arbitrary Unicode is unassigned in SASLprep's Unicode 3.2 (refused at once), so
    // Latin and common scripts are drawn as often.
    fc.asyncProperty(common, common, async (username, password) => {
      const ok = await agreeOrRefuse(async () => {
        const stored = await deriveScramCredentials(password, {
          hash: "SHA-256",
          iterations: 4096,
        });
        // The server looks the user up by the name as it arrives (SASLprep'd by the client).
        let looked: string | undefined;
        const server = new ScramServer({
          hash: "SHA-256",
          credentials: (u) => (looked = u, stored),
        });
        const client = new ScramClient({ hash: "SHA-256", username, password });
        const first = await server.next(client.start());
        const last = await server.next(await client.next(first.challenge!));
        assert.equal(last.done, true);
        assert.equal(client.finish(last.challenge).mechanism, "SCRAM-SHA-256");
        assert.equal(server.outcome().authenticationId, looked);
        assert.equal(looked!.normalize("NFKC").trim(), username.normalize("NFKC").trim());
      });
      if (ok) accepted++;
    }),
    { ...RUNS, numRuns: 20 },
  );
  assert.ok(accepted > 5, `only ${accepted} credentials accepted`);
});

// ---- parsers against their serializers ----

const latin1Text = fc.string({
  unit: fc.integer({ min: 0x20, max: 0xff }).map((c) => String.fromCharCode(c)),
  maxLength: 60,
})
  .filter((s) => !s.includes("\x7f")); // deno-fmt-ignore
const tokenName = fc.stringMatching(/^[a-z][a-z0-9-]{0,11}$/);

Deno.test("parser property: DIGEST-MD5 directives read back what quote() writes", () => {
  fc.assert(
    fc.property(fc.array(fc.tuple(tokenName, latin1Text), { maxLength: 8 }), (pairs) => {
      const text = pairs.map(([name, value]) => `${name}=${quote(value)}`).join(" , ");
      const parsed = parseDirectives(text, "malformed-challenge");
      assert.deepEqual(parsed.map((d) => [d.name, d.value]), pairs);
    }),
    RUNS,
  );
});

Deno.test("parser property: the server's challenge parses back to its realms and offer", () => {
  fc.assert(
    fc.property(
      fc.array(text, { minLength: 0, maxLength: 3 }),
      fc.subarray(["auth", "auth-int", "auth-conf"] as const, { minLength: 1 }),
      (realms, qops) => {
        const server = new DigestMd5Server({
          service: "smtp",
          host: "mail.example.com",
          realms,
          qop: qops,
          ciphers: allCiphers,
          credentials: () => undefined,
        });
        const challenge = parseChallenge(server.next(undefined).challenge!);
        assert.deepEqual(challenge.realms, realms);
        assert.deepEqual([...challenge.qops].sort(), [...qops].sort());
        assert.equal(challenge.utf8, true);
      },
    ),
    RUNS,
  );
});

Deno.test("parser property: base64 decodes what it encodes", () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
      assert.deepEqual(decodeBase64(encodeBase64(bytes)), bytes);
    }),
    RUNS,
  );
});

Deno.test("parser property: FrameDecoder returns the framed buffers however the stream is cut", () => {
  fc.assert(
    fc.property(
      fc.array(fc.uint8Array({ minLength: 1, maxLength: 200 }), { maxLength: 8 }),
      fc.array(fc.integer({ min: 1, max: 50 }), { minLength: 1, maxLength: 20 }),
      (buffers, cuts) => {
        const wire = buffers.map(frame);
        const stream = new Uint8Array(wire.reduce((n, w) => n + w.length, 0));
        let at = 0;
        for (const w of wire) stream.set(w, (at += w.length) - w.length);
        const decoder = new FrameDecoder(1024);
        const out: Uint8Array[] = [];
        for (let i = 0, c = 0; i < stream.length; c++) {
          const n = cuts[c % cuts.length];
          out.push(...decoder.push(stream.subarray(i, i + n)));
          i += n;
        }
        assert.deepEqual(out, buffers);
        assert.equal(decoder.pendingLength, 0);
      },
    ),
    RUNS,
  );
});

// ---- the hashing seam: the portable path agrees with the native one on any input ----

Deno.test("hash property: noble and node:crypto MD5 backends agree, and the chosen one is one of them", () => {
  const native = nodeMd5Backend();
  assert.ok(native, "node:crypto is available in Deno");
  const chosen = md5Backend();
  fc.assert(
    fc.property(
      fc.array(fc.uint8Array({ maxLength: 3000 }), { maxLength: 4 }),
      fc.string({ unit: "grapheme", maxLength: 100 }),
      fc.uint8Array({ maxLength: 100 }),
      (parts, text, key) => {
        const md5 = nobleMd5Backend.md5(parts);
        assert.deepEqual(native.md5(parts), md5);
        assert.deepEqual(chosen.md5(parts), md5);
        const joined = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
        parts.reduce((at, p) => (joined.set(p, at), at + p.length), 0);
        for (const b of [nobleMd5Backend, native, chosen]) {
          const out = new Uint8Array(16);
          b.md5Into(joined, out);
          assert.deepEqual(out, md5, `${b.name} md5Into`);
        }
        const hex = nobleMd5Backend.md5Hex(text);
        assert.equal(native.md5Hex(text), hex);
        assert.equal(chosen.md5Hex(text), hex);
        const mac = nobleMd5Backend.hmac(key, parts);
        assert.deepEqual(native.hmac(key, parts), mac);
        assert.deepEqual(chosen.hmac(key, parts), mac);
        const seq = parts[0] ?? new Uint8Array(0);
        const message = parts[1] ?? new Uint8Array(0);
        const expected = nobleMd5Backend.hmac(key, [seq, message]);
        for (const keyed of [nobleMd5Backend.keyed(key), native.keyed(key), chosen.keyed(key)]) {
          // Twice: a keyed MAC is reusable.
          assert.deepEqual(keyed(seq, message), expected);
          assert.deepEqual(keyed(seq, message), expected);
        }
      },
    ),
    RUNS,
  );
});

Deno.test("hash: RFC 1321 and RFC 2202 vectors through every backend", () => {
  const backends = [nobleMd5Backend, nodeMd5Backend()!, md5Backend()];
  for (const b of backends) {
    assert.equal(b.md5Hex(""), "d41d8cd98f00b204e9800998ecf8427e", b.name);
    assert.equal(b.md5Hex("message digest"), "f96b697d7cb7938d525a2f31aaf161d0", b.name);
    const mac = b.hmac(new Uint8Array(16).fill(0x0b), [enc.encode("Hi There")]);
    assert.equal(
      [...mac].map((x) => x.toString(16).padStart(2, "0")).join(""),
      "9294727a3638bb1c13f48ef8158bfc9d",
    );
  }
});
