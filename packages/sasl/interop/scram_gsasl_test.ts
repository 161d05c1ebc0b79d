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
import { PeerError, type PeerExchangeResult, runPeers, startPeer } from "./peer.ts";
import { bindingData, cyrusPeer, gsaslPeer, hex, liveTests } from "./scram_peers.ts";

const HINT = "Run scripts/peers/scram_peers.sh as root (apt-get install gsasl).";
const gsasl = gsaslPeer();
const cyrus = cyrusPeer();
const live = liveTests("gsasl", gsasl, HINT);

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
  live(`harness: gsasl client -> Cyrus server, ${label}`, async (command) => {
    if (!cyrus.ok) throw new Error(`the Cyrus peer is needed too: ${cyrus.reason}`);
    const result = await peerToPeer(command, cyrus.command, c.mechanism, c.cbType);
    assert.equal(result.server.user, USER);
    assert.equal(result.server.authzid, AUTHZID);
    assert.equal(
      gs2Header(result.messages[0].data),
      `${c.cbType ? `p=${c.cbType}` : "n"},a=${AUTHZID},`,
    );
  });
  live(`harness: Cyrus client -> gsasl server, ${label}`, async (command) => {
    if (!cyrus.ok) throw new Error(`the Cyrus peer is needed too: ${cyrus.reason}`);
    const result = await peerToPeer(cyrus.command, command, c.mechanism, c.cbType);
    assert.equal(result.client.user, USER);
    assert.equal(result.server.mechanism, c.mechanism);
    assert.equal(
      gs2Header(result.messages[0].data),
      `${c.cbType ? `p=${c.cbType}` : "n"},a=${AUTHZID},`,
    );
  });
}

live("harness: gsasl server refuses other tls-unique bytes from Cyrus", async (command) => {
  if (!cyrus.ok) throw new Error(`the Cyrus peer is needed too: ${cyrus.reason}`);
  await assert.rejects(
    peerToPeer(cyrus.command, command, "SCRAM-SHA-256-PLUS", "tls-unique", 2),
    (error) =>
      error instanceof PeerError &&
      error.peerMessage === "mechanism error: Error authenticating user",
  );
});
