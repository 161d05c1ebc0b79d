// The channel-binding data of a node:tls socket, for either end, as RFC 5929 and RFC 9266
// define it. One function for the client transport and the test server, so that both ends
// read the same bytes from the same handshake.

import type * as tls from "node:tls";
import { Buffer } from "node:buffer";
import { type ChannelBindings, type ChannelBindingType, tlsServerEndPoint } from "@saslkit/sasl";

// TLS 1.2's verify_data length (RFC 5246 §7.4.9), for every cipher suite in use.
const FINISHED_LENGTH = 12;

/**
 * Every binding type the runtime can give for this socket; a type it cannot give is absent
 * (Deno 2.9's node:tls has no exportKeyingMaterial; TLS 1.3 has no tls-unique).
 */
export function channelBindingsOf(
  socket: tls.TLSSocket,
  side: "client" | "server",
): ChannelBindings {
  const bindings: Partial<Record<ChannelBindingType, Uint8Array>> = {};
  const attempt = (type: ChannelBindingType, read: () => Uint8Array | undefined) => {
    try {
      const data = read();
      if (data && data.length > 0) bindings[type] = data;
    } catch {
      // Absent, as documented.
    }
  };
  const protocol = typeof socket.getProtocol === "function" ? socket.getProtocol() : null;
  if (protocol === "TLSv1.3") {
    attempt(
      "tls-exporter",
      () =>
        new Uint8Array(
          socket.exportKeyingMaterial(32, "EXPORTER-Channel-Binding", Buffer.alloc(0)),
        ),
    );
  } else if (protocol !== null) {
    // RFC 5929 §3.1: the first Finished message of the handshake, which in a full handshake is
    // the client's: the client's own, the server's peer's.
    // Its verify_data is 12 bytes; Deno 2.9's node:tls returns 32 other bytes, which no server
    // would accept, so anything else is left out.
    attempt("tls-unique", () => {
      const finished = side === "client" ? socket.getFinished() : socket.getPeerFinished();
      return finished?.length === FINISHED_LENGTH ? new Uint8Array(finished) : undefined;
    });
  }
  // RFC 5929 §4: a hash of the server's certificate, whichever end asks.
  attempt("tls-server-end-point", () => {
    const certificate = side === "client"
      ? socket.getPeerCertificate(true)?.raw
      : (socket.getCertificate() as tls.PeerCertificate | null)?.raw;
    return certificate ? tlsServerEndPoint(new Uint8Array(certificate)) : undefined;
  });
  return bindings;
}
