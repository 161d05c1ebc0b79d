// OAUTHBEARER, XOAUTH2, ANONYMOUS and EXTERNAL clients against Dovecot 2.3's auth service, live
// (see dovecot/peer.ts). Needs root and dovecot-core (scripts/peers/mail.sh installs it); without
// them the tests fail under CI=true and are skipped, loudly, elsewhere.

import assert from "node:assert/strict";
import {
  AnonymousClient,
  ExternalClient,
  OAuthBearerClient,
  oauthBearerMechanism,
  XOAuth2Client,
  xoauth2Mechanism,
} from "../mod.ts";
import type { ClientMechanism, MechanismDescriptor } from "../mod.ts";
import { type DovecotPeer, dovecotUnavailable, startDovecot } from "./dovecot/peer.ts";

const CI = Deno.env.get("CI") === "true";
const unavailable = dovecotUnavailable();
if (unavailable !== undefined) {
  const bar = "!".repeat(78);
  console.error(
    `\n${bar}\n!! Dovecot OAuth/ANONYMOUS/EXTERNAL interop tests ` +
      `${CI ? "FAIL (CI=true)" : "SKIPPED"}: ${unavailable}\n${bar}\n`,
  );
}

const now = () => Math.floor(Date.now() / 1000);
const USER = "user@example.com";

const cases: [string, (peer: DovecotPeer) => Promise<void>][] = [];

/** A step run against the one live Dovecot of this file. */
function liveTest(name: string, fn: (peer: DovecotPeer) => Promise<void>): void {
  cases.push([name, fn]);
}

liveTest(
  "OAUTHBEARER: a valid token, an expired one (error challenge, %x01, FAIL)",
  async (peer) => {
    const good = await peer.jwt({ sub: "u1", email: USER, iat: now(), exp: now() + 600 });
    const client = new OAuthBearerClient({
      token: good,
      authorizationId: USER,
      host: "imap.example.com",
      port: 143,
    });
    const ok = await peer.authenticate("OAUTHBEARER", client);
    assert.equal(ok.result, "OK");
    assert.equal(ok.fields.user, USER);
    assert.deepEqual(ok.challenges, []);
    assert.equal(client.finish().authorizationId, USER);

    const expired = await peer.jwt({ sub: "u1", email: USER, iat: now() - 1200, exp: now() - 600 });
    const rejected = new OAuthBearerClient({ token: expired, authorizationId: USER });
    const fail = await peer.authenticate("OAUTHBEARER", rejected);
    assert.equal(fail.result, "FAIL");
    // Dovecot's RFC 7628 error challenge; saslkit answered it with %x01 (else no FAIL here).
    assert.equal(new TextDecoder().decode(fail.challenges[0]), '{"status":"invalid_token"}');
    assert.equal(rejected.serverError?.code, "invalid-token");
    assert.deepEqual(rejected.serverErrorDetails, { status: "invalid_token" });
    assert.ok(!rejected.serverError!.message.includes(expired));
  },
);

liveTest("OAUTHBEARER: without an authzid, and with a non-ASCII one", async (peer) => {
  const anonymousHeader = await peer.authenticate(
    "OAUTHBEARER",
    new OAuthBearerClient({
      token: await peer.jwt({ sub: "u1", email: USER, exp: now() + 600 }),
    }),
  );
  // Dovecot 2.3 requires a= (it names the user whose token it checks).
  assert.equal(anonymousHeader.result, "FAIL");
  assert.deepEqual(anonymousHeader.challenges, []);
  assert.match(peer.log(), /oauthbearer\(\?\): Missing username or token/);

  const jurgen = "jürgen@example.com";
  const reply = await peer.authenticate(
    "OAUTHBEARER",
    new OAuthBearerClient({
      token: await peer.jwt({ sub: "u2", email: jurgen, exp: now() + 600 }),
      authorizationId: jurgen,
    }),
  );
  assert.equal(reply.result, "OK");
  assert.equal(reply.fields.user, jurgen);
});

liveTest(
  "XOAUTH2: a valid token, an expired one (error challenge, empty response, FAIL)",
  async (peer) => {
    const good = await peer.jwt({ sub: "u1", email: USER, exp: now() + 600 });
    const client = new XOAuth2Client({ username: USER, token: good });
    const ok = await peer.authenticate("XOAUTH2", client);
    assert.equal(ok.result, "OK");
    assert.equal(ok.fields.user, USER);
    assert.equal(client.finish().authenticationId, USER);

    const expired = await peer.jwt({ sub: "u1", email: USER, iat: now() - 1200, exp: now() - 600 });
    const rejected = new XOAuth2Client({ username: USER, token: expired });
    const fail = await peer.authenticate("XOAUTH2", rejected);
    assert.equal(fail.result, "FAIL");
    assert.equal(
      new TextDecoder().decode(fail.challenges[0]),
      '{"status":"401","schemes":"bearer","scope":"mail"}',
    );
    assert.equal(rejected.serverError?.code, "invalid-token");
    assert.deepEqual(rejected.serverErrorDetails, {
      status: "401",
      schemes: "bearer",
      scope: "mail",
    });
  },
);

liveTest(
  "descriptors: a stale token from a provider, then a fresh one after invalid-token",
  async (peer) => {
    const stale = await peer.jwt({ sub: "u1", email: USER, iat: now() - 1200, exp: now() - 600 });
    const fresh = await peer.jwt({ sub: "u1", email: USER, exp: now() + 600 });
    for (const descriptor of [oauthBearerMechanism, xoauth2Mechanism] as MechanismDescriptor[]) {
      const asked: boolean[] = [];
      const credentials = {
        kind: "oauth" as const,
        username: USER,
        token: (
          { refresh }: { refresh: boolean },
        ) => (asked.push(refresh), refresh ? fresh : stale),
      };
      // What a protocol layer does: try, read serverError after the failure, refresh once.
      let refreshToken = false;
      let reply;
      let client: ClientMechanism;
      for (;;) {
        client = await descriptor.createClient(credentials, {
          service: "imap",
          host: "imap.example.com",
          port: 993,
          refreshToken,
        });
        reply = await peer.authenticate(descriptor.name, client);
        if (reply.result === "OK" || refreshToken) break;
        assert.equal(client.serverError?.code, "invalid-token", descriptor.name);
        refreshToken = true;
      }
      assert.equal(reply.result, "OK", descriptor.name);
      assert.deepEqual(asked, [false, true], descriptor.name);
    }
  },
);

liveTest("ANONYMOUS: with the RFC 4505 trace, and without one", async (peer) => {
  for (const trace of ["sirhc", undefined, "chris@example.com", "Jürgen, 例え"]) {
    const client = new AnonymousClient({ trace });
    const reply = await peer.authenticate("ANONYMOUS", client);
    assert.equal(reply.result, "OK", String(trace));
    assert.equal(reply.fields.user, "anonymous");
    assert.equal(client.finish().authenticationId, "anonymous");
  }
});

liveTest(
  "EXTERNAL: the certificate's identity, as itself, as another, without one",
  async (peer) => {
    const cert = ["valid-client-cert", "cert_username=alice"];
    const self = await peer.authenticate("EXTERNAL", new ExternalClient(), cert);
    assert.equal(self.result, "OK");
    assert.equal(self.fields.user, "alice");
    const same = await peer.authenticate(
      "EXTERNAL",
      new ExternalClient({ authorizationId: "alice" }),
      cert,
    );
    assert.equal(same.result, "OK");
    assert.equal(same.fields.user, "alice");
    // Acting as someone else needs a master passdb, which this Dovecot has not.
    const other = await peer.authenticate(
      "EXTERNAL",
      new ExternalClient({ authorizationId: "bob" }),
      cert,
    );
    assert.equal(other.result, "FAIL");
    const none = await peer.authenticate("EXTERNAL", new ExternalClient());
    assert.equal(none.result, "FAIL");
  },
);

if (unavailable === undefined) {
  Deno.test("dovecot live", async (t) => {
    const peer = await startDovecot();
    try {
      for (const [name, fn] of cases) {
        const ok = await t.step(name, () => fn(peer));
        if (!ok) console.error(`--- dovecot.log ---\n${peer.log()}`);
      }
    } finally {
      await peer.close();
    }
  });
} else if (CI) {
  Deno.test("dovecot live", () => {
    throw new Error(`the Dovecot peer cannot run: ${unavailable}`);
  });
} else {
  Deno.test({ name: "dovecot live", ignore: true, fn: () => {} });
}
