/**
 * A SASL peer backed by the GNU SASL command-line tool (`gsasl` 2.2, Debian's package of that
 * name), speaking the line protocol of `../peer.ts` on stdin/stdout. Run as a program:
 *
 *   deno run --allow-run=gsasl --allow-env gsasl_peer.ts '{"role":"client",...}'
 *
 * `gsasl --client` and `gsasl --server` without `--connect` exchange one base64 line per SASL
 * message on stdin/stdout; this adapter turns that into `C`/`S`/`OK`/`ERR` lines:
 * - stdout carries the mechanism's name (first line, dropped), every SASL message as a base64
 *   line, and the channel-binding prompts `Enter base64 encoded tls-exporter channel binding: `
 *   and `... tls-unique ...` (no newline). The adapter answers them from `cbType`/`cbData` of
 *   the config (`cbData` in hex, as for the Cyrus peer): the named binding gets the data, the
 *   other an empty line, which gsasl reads as "not available". gsasl asks for tls-exporter first
 *   and uses the first binding it gets, so with `cbType: "tls-unique"` it sends `p=tls-unique`.
 * - stderr carries gsasl's chatter (`Output from server:` …), `Client authentication finished
 *   (server trusted)...` / `Server authentication finished (client trusted)...` on success and
 *   `gsasl: mechanism error: …` on failure. After "finished" the adapter closes gsasl's stdin
 *   (ending its application-data phase) and, once gsasl has exited 0, prints `OK`.
 * - `gsasl --server` prints an empty challenge before it reads the client's first message; for a
 *   client-first mechanism (SCRAM) the adapter drops it, so that the server peer, like the Cyrus
 *   one, waits for the client.
 *
 * gsasl's server takes any authentication identity with the one password `-p` gives it, and any
 * authorization identity; it reports neither, so `OK` carries only `{"mechanism": ...}`.
 *
 * Config keys used: `role`, `mechanism`, `username`, `password`, `authzid`, `service`, `host`,
 * `cbType`, `cbData`, `iterations` (server, default 4096), `salt` (server, base64).
 *
 * @module
 */

import { spawn } from "node:child_process";

interface GsaslConfig {
  role: "client" | "server";
  mechanism: string;
  username?: string;
  password: string;
  authzid?: string;
  service?: string;
  host?: string;
  cbType?: "tls-unique" | "tls-exporter";
  cbData?: string;
  iterations?: number;
  salt?: string;
}

const PROMPTS: Record<string, "tls-unique" | "tls-exporter"> = {
  "Enter base64 encoded tls-exporter channel binding: ": "tls-exporter",
  "Enter base64 encoded tls-unique channel binding: ": "tls-unique",
};

function hexToBase64(hex: string): string {
  if (hex.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(hex)) throw new Error("cbData must be hex");
  let binary = "";
  for (let i = 0; i < hex.length; i += 2) {
    binary += String.fromCharCode(parseInt(hex.slice(i, i + 2), 16));
  }
  return btoa(binary);
}

function out(line: string): void {
  // One write per line: the driver splits on newlines, and writes are not interleaved.
  Deno.stdout.writeSync(new TextEncoder().encode(line + "\n"));
}

function main(): void {
  const config = JSON.parse(Deno.args[0] ?? "{}") as GsaslConfig;
  const isServer = config.role === "server";
  const args = [isServer ? "--server" : "--client", "-m", config.mechanism];
  args.push("-p", config.password);
  if (config.username !== undefined && !isServer) args.push("-a", config.username);
  if (config.authzid !== undefined && !isServer) args.push("-z", config.authzid);
  if (config.service !== undefined) args.push("--service", config.service);
  if (isServer) {
    args.push("--iteration-count", String(config.iterations ?? 4096));
    if (config.salt !== undefined) args.push("--salt", config.salt);
  }
  // Not --hostname: gsasl then stops asking for channel bindings. No --connect: stdin/stdout.
  const cb = config.cbData !== undefined ? hexToBase64(config.cbData) : undefined;
  const child = spawn("gsasl", args, { stdio: ["pipe", "pipe", "pipe"] });
  const clientFirst = config.mechanism.startsWith("SCRAM-");

  let stdoutBuffer = "";
  let sawMechanismLine = false;
  let droppedInitial = !isServer || !clientFirst;
  let stderrText = "";
  let finished = false;
  let pendingFinal: string | undefined;
  let failed = false;

  child.stdout.setEncoding("utf8");
  child.stdout.on("data", (chunk: string) => {
    stdoutBuffer += chunk;
    for (;;) {
      const prompt = Object.keys(PROMPTS).find((p) => stdoutBuffer.startsWith(p));
      if (prompt) {
        stdoutBuffer = stdoutBuffer.slice(prompt.length);
        const wanted = PROMPTS[prompt];
        child.stdin.write((cb !== undefined && config.cbType === wanted ? cb : "") + "\n");
        continue;
      }
      if (Object.keys(PROMPTS).some((p) => p.startsWith(stdoutBuffer))) break; // partial prompt
      const newline = stdoutBuffer.indexOf("\n");
      if (newline < 0) break;
      const line = stdoutBuffer.slice(0, newline).replace(/\r$/, "");
      stdoutBuffer = stdoutBuffer.slice(newline + 1);
      if (!sawMechanismLine) {
        sawMechanismLine = true;
        if (line !== config.mechanism) {
          out(`ERR gsasl chose ${line}, not ${config.mechanism}`);
        }
        continue;
      }
      if (!droppedInitial) {
        droppedInitial = true;
        if (line === "") continue;
      }
      // Without --connect, gsasl wants one more line after its last message whichever side it
      // plays: the server after `v=` (the client's empty answer), the client after its own empty
      // answer to `v=` (the server's "success"). The adapter supplies it at once and prints the
      // final message with OK when gsasl is done, as the line protocol asks.
      if (clientFirst && (isServer ? atob(line).startsWith("v=") : line === "")) {
        pendingFinal = line;
        child.stdin.write("\n");
        continue;
      }
      out(`C ${line}`);
    }
  });

  child.stderr.setEncoding("utf8");
  child.stderr.on("data", (chunk: string) => {
    stderrText += chunk;
    if (Deno.env.get("SASL_PEER_DEBUG")) Deno.stderr.writeSync(new TextEncoder().encode(chunk));
    if (!finished && /authentication finished/.test(stderrText)) {
      finished = true;
      child.stdin.end();
    }
    const error = /^(?:\S*\/)?gsasl: (.*)\n/m.exec(stderrText);
    // After "finished", gsasl's application-data phase reports "poll stdin" when its stdin is
    // closed; that is the end of the session, not a failure.
    if (error && !failed && !finished) {
      failed = true;
      out(`ERR ${error[1]}`);
    }
  });

  child.on("error", (error) => {
    out(`ERR cannot run gsasl: ${error.message}`);
    Deno.exit(2);
  });

  let childClosed = false;
  let driverDone = false;
  child.on("close", (code) => {
    if (finished && code === 0) {
      const ok = `OK ${JSON.stringify({ mechanism: config.mechanism })}`;
      out(pendingFinal !== undefined ? `C ${pendingFinal}\n${ok}` : ok);
    } else if (!failed) {
      const tail = stderrText.trim().split("\n").at(-1) ?? "";
      out(`ERR gsasl exited with ${code}: ${tail}`);
    }
    childClosed = true;
    // Stay until the driver says QUIT or closes stdin, as the other peers do.
    if (driverDone) Deno.exit(0);
  });

  const quit = () => {
    driverDone = true;
    if (childClosed) Deno.exit(0);
    child.kill();
  };
  (async () => {
    const decoder = new TextDecoder();
    let buffer = "";
    for await (const chunk of Deno.stdin.readable) {
      buffer += decoder.decode(chunk, { stream: true });
      let newline;
      while ((newline = buffer.indexOf("\n")) >= 0) {
        const line = buffer.slice(0, newline).replace(/\r$/, "");
        buffer = buffer.slice(newline + 1);
        if (line === "QUIT") return quit();
        if (childClosed) out("ERR gsasl has exited");
        else if (line.startsWith("S ")) child.stdin.write(line.slice(2) + "\n");
        else if (line === "S") child.stdin.write("\n");
        else out(`ERR unknown command ${line.slice(0, 40)}`);
      }
    }
    quit();
  })();
}

main();
