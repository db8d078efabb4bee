// The cache-key helpers behind the session and certificate caches: word-wise,
// so alignment and the bytes past the last whole word must not change the answer.
import { test } from "node:test";
import assert from "node:assert/strict";
import { fnv1a, sameBytes } from "../backends/bytes.ts";

/** `bytes` copied to `offset` bytes into a larger buffer: a misaligned view when offset % 4 != 0. */
function at(bytes: Uint8Array, offset: number): Uint8Array {
  const buf = new Uint8Array(bytes.length + offset + 3);
  buf.set(bytes, offset);
  return buf.subarray(offset, offset + bytes.length);
}

const sample = Uint8Array.from({ length: 803 }, (_, i) => (i * 131 + 7) & 0xff);

test("fnv1a: the same bytes give the same key at every alignment and length", () => {
  for (const len of [0, 1, 3, 4, 5, 8, 803]) {
    const bytes = sample.subarray(0, len);
    const key = fnv1a(bytes);
    for (const offset of [1, 2, 3, 4, 5]) {
      assert.equal(fnv1a(at(bytes, offset)), key, `${len}@${offset}`);
    }
  }
});

test("fnv1a: a change in any byte, the tail included, changes the key", () => {
  const key = fnv1a(sample);
  for (const i of [0, 1, 400, 799, 800, 802]) {
    const other = sample.slice();
    other[i] ^= 1;
    assert.notEqual(fnv1a(other), key, `byte ${i}`);
  }
  assert.notEqual(fnv1a(sample.subarray(0, 802)), key);
});

test("sameBytes: equal at any alignment; any differing byte or length is unequal", () => {
  for (const offset of [0, 1, 2, 3]) assert.ok(sameBytes(at(sample, offset), sample), `@${offset}`);
  for (const i of [0, 3, 400, 799, 800, 802]) {
    const other = at(sample, i % 4);
    other[i] ^= 0x80;
    assert.ok(!sameBytes(other, sample), `byte ${i}`);
    assert.ok(!sameBytes(sample, other), `byte ${i}, swapped`);
  }
  assert.ok(!sameBytes(sample.subarray(0, 802), sample));
  assert.ok(sameBytes(new Uint8Array(0), new Uint8Array(0)));
});
