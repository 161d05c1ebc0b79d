// Runs xmpp.js logins under Node with saslkit's mechanisms, for interop/xmpp_test.ts:
//   node xmpp_node_fixture.mjs <bundle of xmpp/mod.ts> <json array of logins>
// Each login: { port, domain, username, password, mechanisms?, channelBinding? }. The server's
// certificate comes through NODE_EXTRA_CA_CERTS. Prints one JSON array, one result a login:
//   { online, mechanism?, protocol?, name?, code? }
import { client } from "@xmpp/client";
import { pathToFileURL } from "node:url";

const [bundle, json] = process.argv.slice(2);
const { useSaslkit } = await import(pathToFileURL(bundle).href);

async function login(o) {
  const xmpp = client({
    service: `xmpp://127.0.0.1:${o.port}`,
    domain: o.domain,
    username: o.username,
    password: o.password,
    timeout: 500,
  });
  xmpp.on("error", () => {});
  let online = false;
  xmpp.on("online", () => (online = true));
  const saslkit = useSaslkit(xmpp, { mechanisms: o.mechanisms, channelBinding: o.channelBinding });
  const result = {};
  try {
    await xmpp.start();
    Object.assign(result, { online, mechanism: saslkit.outcome?.mechanism });
  } catch (error) {
    Object.assign(result, { online, name: error?.name, code: error?.code });
  }
  result.protocol = xmpp.socket?.socket?.getProtocol?.();
  await xmpp.stop().catch(() => {});
  return result;
}

const results = await Promise.all(JSON.parse(json).map(login));
console.log(JSON.stringify(results));
