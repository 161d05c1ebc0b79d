// SCRAM against GNU SASL 2.2 (`gsasl`, Debian's package): live, through the adapter in
// gsasl/gsasl_peer.ts that turns gsasl's stdin/stdout into the line protocol of peer.ts.
//
// gsasl takes channel-binding data from a TLS session when it connects itself (--connect with
// STARTTLS, IMAP or SMTP only), and otherwise asks for it on stdin ("Enter base64 encoded
// tls-exporter channel binding: ", then tls-unique); the adapter answers those prompts, so -PLUS
// runs with application-chosen bytes for tls-unique and tls-exporter alike. gsasl has no
// SCRAM-SHA-512 and no tls-server-end-point.
//
// First the harness is proven peer to peer (gsasl <-> Cyrus), then saslkit takes each side,
// then gsasl's client binds a real TLS session (STARTTLS, TLS 1.3 tls-exporter and TLS 1.2
// tls-unique from GnuTLS) against saslkit's server fed with OpenSSL's values for that session.
// gsasl's server has no TLS, so saslkit's client meets gsasl over TLS only in that direction.

import assert from "node:assert/strict";
import { rmSync } from "node:fs";
import { decodeBase64 } from "../base64.ts";
import type { ChannelBindingType } from "../mechanism.ts";
import {
  deriveScramCredentials,
  loadSaslprep,
  ScramClient,
  type ScramCredentials,
  type ScramHash,
  ScramServer,
  ScramServerError,
} from "../scram/mod.ts";
import {
  PeerError,
  type PeerExchangeResult,
  runClientWithPeerServer,
  runPeerClientWithServer,
  runPeers,
  type ServerExchangeResult,
  startPeer,
} from "./peer.ts";
import {
  type GsaslTlsResult,
  makeCertificate,
  runGsaslOverTls,
  type SessionBindings,
} from "./gsasl/tls_session.ts";
import { bindingData, both, cyrusPeer, gsaslPeer, hex, liveTests } from "./scram_peers.ts";

const HINT = "Run scripts/peers/scram_peers.sh as root (apt-get install gsasl).";
const gsasl = gsaslPeer();
const cyrus = cyrusPeer();
const live = liveTests("gsasl", gsasl, HINT);
/** The harness tests need the Cyrus peer as well. */
const liveWithCyrus = liveTests(
  "gsasl+cyrus",
  both(gsasl, cyrus),
  `${HINT} The Cyrus peer needs scripts/peers/sasl_dev.sh.`,
);

const USER = "chris";
const PASSWORD = "pencil and paper";
const AUTHZID = "admin";
const SERVICE = "smtp";
const HOST = "mail.example.com";

const decoder = new TextDecoder();
const text = (bytes: Uint8Array) => decoder.decode(bytes);

function base(mechanism: string) {
  return {
    mechanism,
    username: USER,
    password: PASSWORD,
    service: SERVICE,
    host: HOST,
    qop: "auth",
  };
}

function binding(type: string | undefined, seed = 1) {
  return type ? { cbType: type, cbData: hex(bindingData(type, seed)) } : {};
}

/** Runs gsasl (or Cyrus) client against Cyrus (or gsasl) server. */
async function peerToPeer(
  clientCommand: readonly string[],
  serverCommand: readonly string[],
  mechanism: string,
  cbType?: string,
  serverSeed = 1,
): Promise<PeerExchangeResult> {
  const server = await startPeer(serverCommand, {
    ...base(mechanism),
    role: "server",
    ...binding(cbType, serverSeed),
  });
  try {
    const client = await startPeer(clientCommand, {
      ...base(mechanism),
      role: "client",
      authzid: AUTHZID,
      ...binding(cbType),
    });
    try {
      return await runPeers(client, server, { initialResponse: true });
    } finally {
      await client.close();
    }
  } finally {
    await server.close();
  }
}

const P2P_CASES: Array<{ mechanism: string; cbType?: string }> = [
  { mechanism: "SCRAM-SHA-1" },
  { mechanism: "SCRAM-SHA-256" },
  { mechanism: "SCRAM-SHA-1-PLUS", cbType: "tls-unique" },
  { mechanism: "SCRAM-SHA-256-PLUS", cbType: "tls-unique" },
  { mechanism: "SCRAM-SHA-256-PLUS", cbType: "tls-exporter" },
];

function gs2Header(first: Uint8Array): string {
  const parts = text(first).split(",");
  return `${parts[0]},${parts[1]},`;
}

// ------------------------------------------------------------ the harness, peer to peer

for (const c of P2P_CASES) {
  const label = `${c.mechanism}${c.cbType ? ` ${c.cbType}` : ""}`;
  liveWithCyrus(`harness: gsasl client -> Cyrus server, ${label}`, async (command) => {
    if (!cyrus.ok) throw new Error("unreachable: liveWithCyrus checked it");
    const result = await peerToPeer(command, cyrus.command, c.mechanism, c.cbType);
    assert.equal(result.server.user, USER);
    assert.equal(result.server.authzid, AUTHZID);
    assert.equal(
      gs2Header(result.messages[0].data),
      `${c.cbType ? `p=${c.cbType}` : "n"},a=${AUTHZID},`,
    );
  });
  liveWithCyrus(`harness: Cyrus client -> gsasl server, ${label}`, async (command) => {
    if (!cyrus.ok) throw new Error("unreachable: liveWithCyrus checked it");
    const result = await peerToPeer(cyrus.command, command, c.mechanism, c.cbType);
    assert.equal(result.client.user, USER);
    assert.equal(result.server.mechanism, c.mechanism);
    assert.equal(
      gs2Header(result.messages[0].data),
      `${c.cbType ? `p=${c.cbType}` : "n"},a=${AUTHZID},`,
    );
  });
}

liveWithCyrus(
  "harness: gsasl server refuses other tls-unique bytes from Cyrus",
  async (command) => {
    if (!cyrus.ok) throw new Error(`the Cyrus peer is needed too: ${cyrus.reason}`);
    await assert.rejects(
      peerToPeer(cyrus.command, command, "SCRAM-SHA-256-PLUS", "tls-unique", 2),
      (error) =>
        error instanceof PeerError &&
        error.peerMessage === "mechanism error: Error authenticating user",
    );
  },
);

// ------------------------------------------------------------ saslkit against gsasl

const HASHES: readonly ScramHash[] = ["SHA-1", "SHA-256"];
const BINDINGS: ReadonlyArray<ChannelBindingType | undefined> = [
  undefined,
  "tls-unique",
  "tls-exporter",
];

const stored = new Map<ScramHash, Promise<ScramCredentials>>();
function credentials(hash: ScramHash): Promise<ScramCredentials> {
  let entry = stored.get(hash);
  if (!entry) stored.set(hash, entry = deriveScramCredentials(PASSWORD, { hash }));
  return entry;
}

function mechanismOf(hash: ScramHash, plus: boolean): string {
  return `SCRAM-${hash}${plus ? "-PLUS" : ""}`;
}

async function saslkitServer(
  hash: ScramHash,
  options: { cbType?: ChannelBindingType; plus?: boolean; seed?: number } = {},
): Promise<ScramServer> {
  const creds = await credentials(hash);
  return new ScramServer({
    hash,
    plus: options.plus ?? options.cbType !== undefined,
    credentials: (username) => username === USER ? creds : undefined,
    channelBindings: options.cbType
      ? { [options.cbType]: bindingData(options.cbType, options.seed ?? 1) }
      : undefined,
    authorize: (authcid, authzid) => authcid === USER && authzid === AUTHZID,
  });
}

function saslkitClient(
  hash: ScramHash,
  options: { cbType?: ChannelBindingType; seed?: number; password?: string } = {},
): ScramClient {
  return new ScramClient({
    hash,
    username: USER,
    password: options.password ?? PASSWORD,
    authorizationId: AUTHZID,
    channelBinding: options.cbType
      ? { type: options.cbType, data: bindingData(options.cbType, options.seed ?? 1) }
      : undefined,
    serverOffersPlus: options.cbType !== undefined,
  });
}

async function gsaslClientRun(
  command: readonly string[],
  mechanism: string,
  server: ScramServer,
  options: { cbType?: ChannelBindingType; seed?: number; password?: string } = {},
): Promise<ServerExchangeResult> {
  const peer = await startPeer(command, {
    ...base(mechanism),
    role: "client",
    authzid: AUTHZID,
    password: options.password ?? PASSWORD,
    ...binding(options.cbType, options.seed),
  });
  try {
    return await runPeerClientWithServer(peer, server, { initialResponse: true });
  } finally {
    await peer.close();
  }
}

/** What gsasl 2.2's client says to any `e=` (it does not parse server-error). */
function gsaslSawServerError(error: unknown): boolean {
  return error instanceof PeerError &&
    error.peerMessage === "mechanism error: SASL mechanism could not parse input";
}

for (const hash of HASHES) {
  for (const cbType of BINDINGS) {
    const plus = cbType !== undefined;
    const mechanism = mechanismOf(hash, plus);
    const label = `${mechanism}${cbType ? ` ${cbType}` : ""}`;
    const header = `${cbType ? `p=${cbType}` : "n"},a=${AUTHZID},n=${USER},`;

    live(`saslkit client -> gsasl server: ${label}`, async (command) => {
      const peer = await startPeer(command, {
        ...base(mechanism),
        role: "server",
        ...binding(cbType),
      });
      try {
        const client = saslkitClient(hash, { cbType });
        assert.equal(client.name, mechanism);
        const result = await runClientWithPeerServer(client, peer);
        assert.equal(result.peer.mechanism, mechanism);
        assert.equal(result.client.mechanism, mechanism);
        assert.equal(result.client.authorizationId, AUTHZID);
        assert.ok(text(result.messages[0].data).startsWith(header));
        assert.equal(result.messages.length, 4);
        assert.match(text(result.messages[3].data), /^v=/);
      } finally {
        await peer.close();
      }
    });

    live(`gsasl client -> saslkit server: ${label}`, async (command) => {
      const server = await saslkitServer(hash, { cbType });
      const result = await gsaslClientRun(command, mechanism, server, { cbType });
      assert.equal(result.peer.mechanism, mechanism);
      assert.equal(result.server.mechanism, mechanism);
      assert.equal(result.server.authenticationId, USER);
      assert.equal(result.server.authorizationId, AUTHZID);
      assert.ok(text(result.messages[0].data).startsWith(header));
    });
  }
}

live(
  "gsasl client binds other tls-exporter bytes: saslkit server fails channel-binding-mismatch",
  async (command) => {
    const server = await saslkitServer("SHA-256", { cbType: "tls-exporter", seed: 2 });
    await assert.rejects(
      gsaslClientRun(command, "SCRAM-SHA-256-PLUS", server, { cbType: "tls-exporter" }),
      gsaslSawServerError,
    );
    assert.throws(
      () => server.outcome(),
      (error) =>
        error instanceof ScramServerError && error.code === "channel-binding-mismatch" &&
        error.serverError === "channel-bindings-dont-match",
    );
  },
);

live("saslkit client binds other tls-unique bytes: gsasl server refuses", async (command) => {
  const peer = await startPeer(command, {
    ...base("SCRAM-SHA-256-PLUS"),
    role: "server",
    ...binding("tls-unique", 2),
  });
  try {
    await assert.rejects(
      runClientWithPeerServer(saslkitClient("SHA-256", { cbType: "tls-unique" }), peer),
      (error) =>
        error instanceof PeerError &&
        error.peerMessage === "mechanism error: Error authenticating user",
    );
  } finally {
    await peer.close();
  }
});

live(
  "gsasl client with a wrong password: saslkit server fails authentication-failed",
  async (command) => {
    const server = await saslkitServer("SHA-1");
    await assert.rejects(
      gsaslClientRun(command, "SCRAM-SHA-1", server, { password: "pencil and pen" }),
      gsaslSawServerError,
    );
    assert.throws(
      () => server.outcome(),
      (error) =>
        error instanceof ScramServerError && error.code === "authentication-failed" &&
        error.serverError === "invalid-proof",
    );
  },
);

// ------------------------------------------------------------ gsasl over real TLS
//
// gsasl --smtp --connect … --starttls takes its binding from GnuTLS; a STARTTLS terminator in
// Node (Deno 2.9's node:tls has no exportKeyingMaterial and its getFinished is not the Finished
// message) computes the same session's bindings with OpenSSL for saslkit's server. gsasl 2.2
// binds tls-exporter on TLS 1.3 and tls-unique on TLS 1.2.

function unhex(text: string | undefined): Uint8Array | undefined {
  if (text === undefined) return undefined;
  return Uint8Array.from(text.match(/../g) ?? [], (h) => parseInt(h, 16));
}

async function overTls(
  mechanism: string,
  priority: string | undefined,
  pick: (b: SessionBindings) => Partial<Record<ChannelBindingType, Uint8Array>>,
): Promise<GsaslTlsResult> {
  const certificate = makeCertificate();
  if (typeof certificate === "string") throw new Error(certificate);
  try {
    const hash: ScramHash = mechanism.startsWith("SCRAM-SHA-1") ? "SHA-1" : "SHA-256";
    const creds = await credentials(hash);
    return await runGsaslOverTls(certificate, {
      mechanism,
      username: USER,
      password: PASSWORD,
      priority,
      server: (name, bindings) =>
        Promise.resolve(
          new ScramServer({
            hash,
            plus: name.endsWith("-PLUS"),
            credentials: (username) => username === USER ? creds : undefined,
            channelBindings: pick(bindings),
          }),
        ),
    });
  } finally {
    rmSync(certificate.dir, { recursive: true, force: true });
  }
}

function clientFirst(result: GsaslTlsResult): string {
  const line = result.smtp.find((_, i) => i > 0 && result.smtp[i - 1] === "S: 334 ");
  return line ? text(decodeBase64(line.slice(3))) : "";
}

for (const mechanism of ["SCRAM-SHA-256-PLUS", "SCRAM-SHA-1-PLUS"]) {
  live(`real TLS 1.3: gsasl client -> saslkit server, ${mechanism} tls-exporter`, async () => {
    const result = await overTls(mechanism, undefined, (b) => ({
      "tls-exporter": unhex(b.tlsExporter),
    }));
    assert.equal(result.exitCode, 0, result.output);
    assert.equal(result.bindings?.protocol, "TLSv1.3");
    // Below TLS 1.3 "no context" and "empty context" differ; on 1.3 they are one value.
    assert.equal(result.bindings?.tlsExporter, result.bindings?.tlsExporterEmptyContext);
    assert.ok(clientFirst(result).startsWith("p=tls-exporter,,n=chris,"), clientFirst(result));
    assert.equal(result.outcome?.mechanism, mechanism);
    assert.ok(result.smtp.includes("S: 235 2.7.0 Authentication successful"));
  });
}

live("real TLS 1.2: gsasl client -> saslkit server, SCRAM-SHA-256-PLUS tls-unique", async () => {
  const result = await overTls("SCRAM-SHA-256-PLUS", "NORMAL:-VERS-TLS1.3", (b) => ({
    "tls-unique": unhex(b.tlsUnique),
  }));
  assert.equal(result.exitCode, 0, result.output);
  assert.equal(result.bindings?.protocol, "TLSv1.2");
  assert.equal(unhex(result.bindings?.tlsUnique)?.length, 12);
  assert.ok(clientFirst(result).startsWith("p=tls-unique,,n=chris,"), clientFirst(result));
  assert.equal(result.outcome?.mechanism, "SCRAM-SHA-256-PLUS");
});

live(
  "real TLS 1.2: tls-unique is the client's Finished; the server's fails channel-binding-mismatch",
  async () => {
    const result = await overTls("SCRAM-SHA-256-PLUS", "NORMAL:-VERS-TLS1.3", (b) => ({
      "tls-unique": unhex(b.serverFinished),
    }));
    assert.notEqual(result.exitCode, 0);
    assert.notEqual(result.bindings?.serverFinished, result.bindings?.tlsUnique);
    assert.ok(
      result.error instanceof ScramServerError && result.error.code === "channel-binding-mismatch",
      String(result.error),
    );
    assert.equal(result.smtp.at(-1), "S: 334 ZT1jaGFubmVsLWJpbmRpbmdzLWRvbnQtbWF0Y2g="); // e=channel-bindings-dont-match
    assert.match(result.output, /mechanism error: SASL mechanism could not parse input/);
  },
);

// ------------------------------------------------ names that need escaping, SASLprep

live("gsasl client -> saslkit server: escaped username, SASLprep'd password", async (command) => {
  // "," and "=" travel as "=2C" and "=3D"; the password's soft hyphen maps to nothing and
  // U+2168 to "IX" on both sides (RFC 4013), or the proofs would differ.
  const user = "jos\u00e9,=x";
  const password = "c\u00e4r\u00adot \u2168";
  const creds = await deriveScramCredentials(password, { hash: "SHA-256" });
  const server = new ScramServer({
    hash: "SHA-256",
    credentials: (username) => username === user ? creds : undefined,
  });
  const peer = await startPeer(command, {
    ...base("SCRAM-SHA-256"),
    role: "client",
    username: user,
    password,
  });
  try {
    const result = await runPeerClientWithServer(peer, server, { initialResponse: true });
    assert.ok(text(result.messages[0].data).startsWith("n,,n=jos\u00e9=2C=3Dx,r="));
    assert.equal(result.server.authenticationId, user);
  } finally {
    await peer.close();
  }
});

live("saslkit client -> gsasl server: SASLprep'd password", async (command) => {
  const peer = await startPeer(command, {
    ...base("SCRAM-SHA-256"),
    role: "server",
    password: "c\u00e4rot IX",
  });
  try {
    await loadSaslprep(); // for the constructor: the password is not ASCII
    const client = new ScramClient({
      hash: "SHA-256",
      username: USER,
      password: "c\u00e4r\u00adot \u2168",
    });
    const result = await runClientWithPeerServer(client, peer);
    assert.equal(result.client.mechanism, "SCRAM-SHA-256");
  } finally {
    await peer.close();
  }
});
