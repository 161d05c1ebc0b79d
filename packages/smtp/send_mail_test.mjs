// sendMail as an untyped JavaScript caller meets it: plain .mjs, no type checks to lean on.
import assert from "node:assert/strict";
import {
  authenticate,
  buildMessage,
  connectTcp,
  SmtpError,
  SmtpSendError,
  SmtpSession,
} from "./mod.ts";
import { startTestServer } from "./test_server.ts";

const credentials = { username: "smtpuser", password: "secret" };

async function withSession(test) {
  const server = await startTestServer();
  try {
    const { session } = await authenticate({
      host: "mail.example.com",
      connect: () => connectTcp({ host: server.hostname, port: server.port }),
      security: "none",
      credentials,
      timeoutMs: 5000,
    });
    try {
      await test(session, server);
    } finally {
      await session.quit();
    }
  } finally {
    await server.close();
  }
}

async function rejectsWith(promise, code, pattern) {
  await assert.rejects(promise, (error) => {
    assert.ok(error instanceof SmtpError, `not an SmtpError: ${error}`);
    assert.equal(error.code, code, error.message);
    if (pattern) assert.match(error.message, pattern);
    return true;
  });
}

Deno.test("sendMail: to as a string is one recipient, not one per character", async () => {
  await withSession(async (session, server) => {
    const result = await session.sendMail({
      from: "a@example.com",
      to: "bob@example.com",
      data: "Subject: hi\n\nhello\n",
    });
    assert.deepEqual(server.messages[0].to, ["bob@example.com"]);
    assert.deepEqual(result.accepted, ["bob@example.com"]);
    assert.deepEqual(result.rejected, []);
    assert.equal(result.queueId, "5AQK00000001");
    assert.equal(result.reply.code, 250);
    assert.deepEqual(result.replies.map((r) => [r.command, r.reply.code]), [
      ["MAIL FROM:<a@example.com>", 250],
      ["RCPT TO:<bob@example.com>", 250],
      ["DATA", 354],
      [".", 250],
    ]);
  });
});

Deno.test("sendMail: display names and comma lists go to the envelope as bare addresses", async () => {
  await withSession(async (session, server) => {
    await session.sendMail({
      from: '"Fred Bloggs" <fred@example.com>',
      to: ['"Bloggs, Alice" <alice@example.com>, bob@example.com', { address: "c@example.com" }],
      bcc: "Hidden <hidden@example.com>",
      data: "Subject: hi\r\n\r\nhello\r\n",
    });
    const message = server.messages[0];
    assert.equal(message.from, "fred@example.com");
    assert.deepEqual(message.to, [
      "alice@example.com",
      "bob@example.com",
      "c@example.com",
      "hidden@example.com",
    ]);
  });
});

Deno.test("sendMail: the nodemailer shape { from, to, subject, text } builds the message", async () => {
  await withSession(async (session, server) => {
    const result = await session.sendMail({
      from: '"Fred" <fred@example.com>',
      to: "bob@example.com",
      subject: "Grüße",
      text: "Hello Bob\n.leading dot\n",
    });
    assert.deepEqual(result.accepted, ["bob@example.com"]);
    const data = server.messages[0].data;
    assert.match(data, /^From: "Fred" <fred@example\.com>\r\n/);
    assert.match(data, /\r\nTo: bob@example\.com\r\n/);
    assert.match(data, /\r\nSubject: =\?UTF-8\?B\?R3LDvMOfZQ==\?=\r\n/);
    assert.match(data, /\r\nDate: .+ \+0000\r\n/);
    assert.match(data, /\r\nMessage-ID: <[0-9a-f-]{36}@example\.com>\r\n/);
    assert.ok(data.endsWith("\r\n\r\nHello Bob\r\n.leading dot\r\n"));
  });
});

Deno.test("sendMail: every bad field is a typed invalid-argument, before anything is sent", async () => {
  await withSession(async (session, server) => {
    const cases = [
      [undefined, /takes \{ from, to, data \}/],
      ["a@example.com", /not string/],
      [{ from: "a@example.com", to: 42, data: "x" }, /to must be an address.*not number/],
      [{ from: "a@example.com", to: [], data: "x" }, /no recipients/],
      [{ from: "a@example.com", to: "", data: "x" }, /to\[0\] is empty/],
      [{ to: "b@example.com", data: "x" }, /from must be a string/],
      [{ from: "a@example.com", to: "b@example.com" }, /needs data .* or text/],
      [
        { from: "a@example.com", to: "b@example.com", data: 7 },
        /data must be a string or a Uint8Array/,
      ],
      [
        { from: "a@example.com", to: "b@example.com", data: "x", text: "y" },
        /either data .* not both/,
      ],
      [
        { from: "a@example.com", to: "b@example.com", html: "<b>x</b>" },
        /html bodies are not built/,
      ],
      [
        { from: "a@example.com", to: "b@example.com", data: "x", cc: null },
        /cc must be an address/,
      ],
      [{ from: "a@example.com", to: "b@example.com", data: "x", tpo: 1 }, /unknown field "tpo"/],
      [{ from: "a@example.com", to: "b@example.com\r\nRCPT TO:<x@evil>", data: "x" }, /control/],
      [
        { from: "a@example.com", to: "Bloggs, Fred <fred@example.com>", data: "x" },
        /to\[0\].*address/,
      ],
      [
        { from: "a@example.com", to: "Fred <fred@example.com> extra", data: "x" },
        /nothing may follow/,
      ],
      [{ from: "a@example.com", to: '"Fred <fred@example.com>', data: "x" }, /quotes do not close/],
      [{ from: "a@example.com", to: "fred", data: "x" }, /must be an address like/],
      [
        { from: "a@example.com", to: "b@example.com", subject: "a\r\nBcc: x@evil", text: "x" },
        /subject/,
      ],
      [
        { from: "a@example.com", to: "b@example.com", data: "x", requireAllRecipients: "yes" },
        /true or false/,
      ],
    ];
    for (const [message, pattern] of cases) {
      await rejectsWith(session.sendMail(message), "invalid-argument", pattern);
    }
    assert.equal(server.messages.length, 0);
    // The session is still usable.
    await session.sendMail({ from: "a@example.com", to: "b@example.com", data: "x\n" });
    assert.equal(server.messages.length, 1);
  });
});

Deno.test("sendMail: a non-ASCII address needs SMTPUTF8, which the test server lacks", async () => {
  await withSession(async (session, server) => {
    await rejectsWith(
      session.sendMail({ from: "a@example.com", to: "jürgen@example.com", data: "x" }),
      "not-supported",
      /SMTPUTF8/,
    );
    assert.equal(server.messages.length, 0);
  });
});

// A scripted server: 550 for addresses starting with "bad", Postfix's final reply, and a log of
// every command, to see what sendMail sends.
function scriptedTransport(extensions = ["8BITMIME", "SMTPUTF8"]) {
  const encoder = new TextEncoder();
  const decoder = new TextDecoder();
  const commands = [];
  const queue = [encoder.encode("220 mx.example.org ESMTP Postfix\r\n")];
  let waiter;
  let data = false;
  let pending = "";
  const reply = (text) => {
    queue.push(encoder.encode(text));
    waiter?.();
  };
  return {
    commands,
    transport: {
      secure: false,
      read: async () => {
        while (queue.length === 0) await new Promise((resolve) => (waiter = resolve));
        return queue.shift();
      },
      write: (bytes) => {
        pending += decoder.decode(bytes);
        let end;
        while ((end = pending.indexOf("\r\n")) >= 0) {
          const line = pending.slice(0, end);
          pending = pending.slice(end + 2);
          if (data) {
            if (line === ".") {
              data = false;
              reply("250 2.0.0 Ok: queued as 4F1D32A0B1\r\n");
            }
            continue;
          }
          commands.push(line);
          if (line.startsWith("EHLO")) {
            reply(
              ["250-mx.example.org", ...extensions].join("\r\n250-").replace(
                /250-([^\r]*)$/,
                "250 $1",
              ) + "\r\n",
            );
          } else if (/^RCPT TO:<bad/i.test(line)) {
            reply("550 5.1.1 <bad>: Recipient address rejected: User unknown\r\n");
          } else if (line === "DATA") {
            data = true;
            reply("354 End data with <CR><LF>.<CR><LF>\r\n");
          } else if (line === "QUIT") reply("221 2.0.0 Bye\r\n");
          else reply("250 2.0.0 Ok\r\n");
        }
        return Promise.resolve();
      },
      close: () => {},
    },
  };
}

Deno.test("sendMail: one refused recipient of many is reported, not fatal; queue id read", async () => {
  const { transport, commands } = scriptedTransport();
  const session = await SmtpSession.open(transport, { timeoutMs: 2000 });
  await session.ehlo("client.example.com");
  const result = await session.sendMail({
    from: "a@example.com",
    to: ["ok1@example.com", "bad@example.com", "ok2@example.com"],
    data: "Subject: x\r\n\r\nx\r\n",
  });
  assert.deepEqual(result.accepted, ["ok1@example.com", "ok2@example.com"]);
  assert.equal(result.rejected.length, 1);
  assert.equal(result.rejected[0].address, "bad@example.com");
  assert.equal(result.rejected[0].reply.code, 550);
  assert.equal(result.rejected[0].reply.enhancedCode, "5.1.1");
  assert.equal(result.queueId, "4F1D32A0B1");
  assert.ok(commands.includes("DATA"));

  // requireAllRecipients: the whole message is refused, and the session reset for the next.
  commands.length = 0;
  await assert.rejects(
    session.sendMail({
      from: "a@example.com",
      to: "ok1@example.com, bad@example.com",
      data: "x",
      requireAllRecipients: true,
    }),
    (error) => {
      assert.ok(error instanceof SmtpSendError);
      assert.equal(error.code, "rejected");
      assert.match(error.message, /1 of 2 recipients refused/);
      assert.deepEqual(error.accepted, ["ok1@example.com"]);
      assert.equal(error.rejected[0].address, "bad@example.com");
      return true;
    },
  );
  assert.ok(!commands.includes("DATA"));
  assert.equal(commands.at(-1), "RSET");

  // Every recipient refused: no DATA either.
  commands.length = 0;
  await assert.rejects(
    session.sendMail({ from: "a@example.com", to: "bad@example.com", data: "x" }),
    (error) => error instanceof SmtpSendError && /every recipient was refused/.test(error.message),
  );
  assert.deepEqual(commands, ["MAIL FROM:<a@example.com>", "RCPT TO:<bad@example.com>", "RSET"]);
  await session.quit();
});

Deno.test("sendMail: BODY=8BITMIME for a non-ASCII body, SMTPUTF8 for a non-ASCII address", async () => {
  const { transport, commands } = scriptedTransport();
  const session = await SmtpSession.open(transport, { timeoutMs: 2000 });
  await session.ehlo("client.example.com");
  await session.sendMail({ from: "a@example.com", to: "b@example.com", text: "Grüße\n" });
  assert.equal(commands.at(-3), "MAIL FROM:<a@example.com> BODY=8BITMIME");
  await session.sendMail({ from: "a@example.com", to: "jürgen@example.com", data: "hi\r\n" });
  assert.equal(commands.at(-3), "MAIL FROM:<a@example.com> SMTPUTF8");
  await session.quit();

  // Without 8BITMIME the built body goes base64.
  const plain = scriptedTransport([]);
  const old = await SmtpSession.open(plain.transport, { timeoutMs: 2000 });
  await old.ehlo("client.example.com");
  await old.sendMail({ from: "a@example.com", to: "b@example.com", text: "Grüße\n" });
  assert.equal(plain.commands.at(-3), "MAIL FROM:<a@example.com>");
  await old.quit();
});

Deno.test("buildMessage folds a long To header and keeps every address", () => {
  const to = Array.from({ length: 12 }, (_, i) => `recipient-number-${i}@example.com`);
  const message = buildMessage({ from: "a@example.com", to, text: "x" });
  const header = /^To: ([^]*?)\r\n(?! )/m.exec(message)[0];
  for (const line of header.split("\r\n")) assert.ok(line.length <= 78, line);
  for (const address of to) assert.ok(header.includes(address), address);
  assert.equal(header.replace(/\r\n /g, " ").trim(), `To: ${to.join(", ")}`);
});

Deno.test("buildMessage from JavaScript: typed errors for wrong types", () => {
  assert.throws(
    () => buildMessage(),
    (e) => e instanceof SmtpError && e.code === "invalid-argument",
  );
  assert.throws(
    () => buildMessage({ from: "a@example.com", to: "b@example.com", text: 5 }),
    (e) =>
      e instanceof SmtpError && e.code === "invalid-argument" &&
      /text must be a string/.test(e.message),
  );
  const message = buildMessage({
    from: { address: "a@example.com", name: "Jürgen Müller" },
    to: "b@example.com",
    text: "x",
    eightBit: false,
  });
  assert.match(message, /^From: =\?UTF-8\?B\?[A-Za-z0-9+/=]+\?= <a@example\.com>\r\n/);
  assert.ok(message.endsWith("\r\n\r\nx\r\n"));
});
