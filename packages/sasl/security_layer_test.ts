// FrameDecoder: framing of security-layer buffers (RFC 4422 §3.7), bounded against hostile input.
import assert from "node:assert/strict";
import { frame, FrameDecoder } from "./security_layer.ts";
import { SaslError, type SaslErrorCode } from "./error.ts";

const isCode = (code: SaslErrorCode) => (e: unknown) => e instanceof SaslError && e.code === code;
const filled = (length: number, value: number) => new Uint8Array(length).fill(value);
const join = (...parts: Uint8Array[]) => Uint8Array.from(parts.flatMap((p) => [...p]));

Deno.test("FrameDecoder: 1 MiB of zero bytes fails at the first frame", () => {
  // 262,144 empty frames; not one of them may be cut and handed on.
  const zeros = new Uint8Array(1 << 20);
  const pushed = new FrameDecoder(65536);
  assert.throws(() => pushed.push(zeros), (e: unknown) => {
    assert.ok(isCode("integrity-check-failed")(e));
    assert.match((e as Error).message, /buffer of 0 bytes is shorter than the minimum of 1/);
    return true;
  });
  assert.equal(pushed.pendingLength, 0, "the rest of the stream is let go");
  assert.throws(() => pushed.next(), isCode("integrity-check-failed"));

  // With the layer's minimum, and one frame at a time: the first next() throws.
  const pulled = new FrameDecoder(65536, 16);
  pulled.append(zeros);
  assert.throws(() => pulled.next(), (e: unknown) => {
    assert.ok(isCode("integrity-check-failed")(e));
    assert.match((e as Error).message, /minimum of 16/);
    return true;
  });
});

Deno.test("FrameDecoder: a short length is refused from its 4 bytes alone", () => {
  const decoder = new FrameDecoder(8192, 16);
  assert.deepEqual(decoder.push(Uint8Array.of(0, 0)), []);
  assert.throws(() => decoder.push(Uint8Array.of(0, 15)), isCode("integrity-check-failed"));
  // 16 passes, with its buffer.
  const ok = new FrameDecoder(8192, 16);
  assert.deepEqual(ok.push(frame(filled(16, 1))), [filled(16, 1)]);
});

Deno.test("FrameDecoder: pendingLength counts a length prefix already read", () => {
  const decoder = new FrameDecoder(1024);
  const wire = frame(Uint8Array.of(1, 2, 3));
  assert.deepEqual(decoder.push(wire.subarray(0, 3)), []);
  assert.equal(decoder.pendingLength, 3);
  assert.deepEqual(decoder.push(wire.subarray(3, 4)), []); // the prefix is read here
  assert.equal(decoder.pendingLength, 4);
  assert.deepEqual(decoder.push(wire.subarray(4, 6)), []);
  assert.equal(decoder.pendingLength, 6);
  assert.deepEqual(decoder.push(wire.subarray(6)), [Uint8Array.of(1, 2, 3)]);
  assert.equal(decoder.pendingLength, 0);
  assert.deepEqual(decoder.push(join(wire, wire.subarray(0, 4))), [Uint8Array.of(1, 2, 3)]);
  assert.equal(decoder.pendingLength, 4);
});

Deno.test("FrameDecoder: a push() that throws keeps the buffers it had completed", () => {
  const a = filled(20, 0xaa);
  const b = filled(30, 0xbb);
  const decoder = new FrameDecoder(100, 16);
  // Two good frames, then "MAIL" read as a length, then more that must never be cut.
  const wire = join(frame(a), frame(b), new TextEncoder().encode("MAIL FROM:<x>"), frame(a));
  let thrown: unknown;
  assert.throws(() => decoder.push(wire), (e: unknown) => {
    thrown = e;
    return isCode("buffer-too-large")(e) && /1296124236/.test((e as Error).message);
  });
  assert.deepEqual(decoder.next(), a);
  assert.deepEqual(decoder.next(), b);
  assert.throws(() => decoder.next(), (e: unknown) => e === thrown);
  assert.throws(() => decoder.next(), (e: unknown) => e === thrown);
  assert.throws(() => decoder.push(frame(a)), (e: unknown) => e === thrown);
  assert.throws(() => decoder.append(frame(a)), (e: unknown) => e === thrown);

  // Pulling one at a time gives the same buffers and the same error, in stream order.
  const pulled = new FrameDecoder(100, 16);
  pulled.append(wire);
  assert.deepEqual(pulled.next(), a);
  assert.deepEqual(pulled.next(), b);
  assert.throws(() => pulled.next(), isCode("buffer-too-large"));
});

Deno.test("FrameDecoder: next() cuts one buffer per call and waits for the rest", () => {
  const decoder = new FrameDecoder(1024);
  decoder.append(
    join(frame(filled(5, 1)), frame(filled(6, 2)), frame(filled(7, 3)).subarray(0, 9)),
  );
  assert.deepEqual(decoder.next(), filled(5, 1));
  assert.equal(decoder.pendingLength, 10 + 9);
  assert.deepEqual(decoder.next(), filled(6, 2));
  assert.equal(decoder.next(), undefined);
  assert.equal(decoder.pendingLength, 9);
  decoder.append(frame(filled(7, 3)).subarray(9));
  assert.deepEqual(decoder.next(), filled(7, 3));
  assert.equal(decoder.next(), undefined);
  assert.equal(decoder.pendingLength, 0);
});

Deno.test("FrameDecoder: a 64 KiB buffer sent a byte at a time, and many buffers in one chunk", () => {
  const big = Uint8Array.from({ length: 65536 }, (_, i) => i * 7);
  const wire = frame(big);
  const decoder = new FrameDecoder(65536);
  const out: Uint8Array[] = [];
  for (let i = 0; i < wire.length; i++) out.push(...decoder.push(wire.subarray(i, i + 1)));
  assert.equal(out.length, 1);
  assert.deepEqual(out[0], big);
  assert.equal(decoder.pendingLength, 0);
  // 10,000 small frames in one chunk, then the same stream again in chunks of 3 bytes.
  const many = join(...Array.from({ length: 10_000 }, (_, i) => frame(filled(16, i & 0xff))));
  const all = new FrameDecoder(1024, 16).push(many);
  assert.equal(all.length, 10_000);
  assert.deepEqual(all[9_999], filled(16, 9_999 & 0xff));
  const chunked = new FrameDecoder(1024, 16);
  let count = 0;
  for (let i = 0; i < many.length; i += 3) count += chunked.push(many.subarray(i, i + 3)).length;
  assert.equal(count, 10_000);
});

Deno.test("FrameDecoder: buffers do not change when the caller reuses its chunk", () => {
  const chunk = join(frame(Uint8Array.of(1, 2)), frame(Uint8Array.of(3)));
  const decoder = new FrameDecoder(16);
  const buffers = decoder.push(chunk);
  chunk.fill(0);
  assert.deepEqual(buffers, [Uint8Array.of(1, 2), Uint8Array.of(3)]);
});

Deno.test("FrameDecoder: limits are checked", () => {
  for (const [max, min] of [[0, 1], [1.5, 1], [16, 0], [16, 17], [16, 2.5], [16, NaN]]) {
    assert.throws(() => new FrameDecoder(max, min), isCode("invalid-argument"), `${max}, ${min}`);
  }
  assert.ok(new FrameDecoder(16, 16));
  // Exactly maxSize passes; one more is refused before its bytes arrive.
  assert.deepEqual(new FrameDecoder(3).push(frame(filled(3, 9))), [filled(3, 9)]);
  assert.throws(
    () => new FrameDecoder(3).push(Uint8Array.of(0, 0, 0, 4)),
    isCode("buffer-too-large"),
  );
});
