// SCRAM against GNU SASL 2.2 (`gsasl`, Debian's package): live, through the adapter in
// gsasl/gsasl_peer.ts that turns gsasl's stdin/stdout into the line protocol of peer.ts.
//
// gsasl takes channel-binding data from a TLS session when it connects itself (--connect with
// STARTTLS, IMAP or SMTP only), and otherwise asks for it on stdin ("Enter base64 encoded
// tls-exporter channel binding: ", then tls-unique); the adapter answers those prompts, so -PLUS
// runs with application-chosen bytes for tls-unique and tls-exporter alike. gsasl has no
// SCRAM-SHA-512 and no tls-server-end-point.
//
// First the harness is proven peer to peer (gsasl <-> Cyrus), then saslkit takes each side.

import assert from "node:assert/strict";
import type { ChannelBindingType } from "../mechanism.ts";
import {
  deriveScramCredentials,
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
