/**
 * asciiJsonText (agent/pi/http.ts): whenever it gives a text, JSON.parse of it must succeed exactly
 * when JSON.parse of the UTF-8 decoding succeeds, with a deep-equal value; otherwise it gives undefined.
 */
import t from 'tap';
import type { Test } from 'tap';
import { asciiJsonText } from '../../agent/pi/http.js';

/** The outcome of parsing: the value, or 'throws'. */
function parse(s: string): { ok: true; value: unknown } | { ok: false } {
  try {
    return { ok: true, value: JSON.parse(s) as unknown };
  } catch {
    return { ok: false };
  }
}

/** asciiJsonText agrees with the UTF-8 path on `bytes`; returns whether it gave a text. */
function agrees(t: Test, bytes: Buffer, label: string): boolean {
  const ascii = asciiJsonText(bytes);
  if (ascii === undefined) return false;
  t.ok(/^[\x00-\x7f]*$/.test(ascii), `${label}: ASCII only`);
  const want = parse(bytes.toString('utf8'));
  const got = parse(ascii);
  t.equal(got.ok, want.ok, `${label}: parses iff the UTF-8 text parses`);
  if (want.ok && got.ok) t.same(got.value, want.value, `${label}: same value`);
  return true;
}

/** `bytes` at byte offset `off` of a larger buffer (Buffers from a pool are rarely aligned). */
function at(off: number, bytes: Buffer): Buffer {
  const big = Buffer.alloc(off + bytes.length + 3, 0x20);
  bytes.copy(big, off);
  return big.subarray(off, off + bytes.length);
}

t.test('valid UTF-8 JSON gives the same value, at every alignment', async (t) => {
  const docs = [
    '{"Items":[{"Timestamp":"2026-01-01T00:00:00Z","Value":1.5,"UnitsAbbreviation":"°C","Good":true}]}',
    '["€uro","日本語","emoji 😀 and 𝄞","\\u00b0 escaped and ° raw","a\\\\°"," ","ÿ"]',
    '{"°C":"key with a non-ASCII character","x":["\u2028\u2029","\ufeff","\uffff"]}',
    '"just a string ü"',
    '{"plain":"ascii only","n":[1,2,3e5,-0.5,true,false,null]}',
    '',
    '   ',
  ];
  for (const d of docs) {
    for (let off = 0; off < 4; off++) {
      const b = at(off, Buffer.from(d, 'utf8'));
      t.ok(agrees(t, b, `${JSON.stringify(d).slice(0, 30)} @${off}`), 'gives a text');
    }
  }
  t.equal(JSON.parse(asciiJsonText(Buffer.from('["°C 😀"]'))!)[0], '°C 😀');
});

t.test('large bodies: non-ASCII characters in any block, at block and word edges', async (t) => {
  const item = (i: number, u: string): string => `{"Timestamp":"2026-01-01T00:00:${String(i % 60).padStart(2, '0')}Z","Value":${i},"UnitsAbbreviation":"${u}"}`;
  const units = ['m3/h', 'bar', '°C', 'kg/h', '€/MWh', 'µS/cm', '😀'];
  const parts: string[] = [];
  for (let i = 0; i < 5000; i++) parts.push(item(i, i % 97 < 40 ? 'rpm' : units[i % units.length]!));
  const doc = `{"Items":[${parts.join(',')}]}`;
  for (let off = 0; off < 4; off++) t.ok(agrees(t, at(off, Buffer.from(doc, 'utf8')), `large @${off}`), 'gives a text');
  // A non-ASCII character at every position around a 16 KB block edge and a word edge.
  for (let pad = 16370; pad < 16390; pad++) {
    const d = `["${'a'.repeat(pad)}°","é${'b'.repeat(pad % 7)}😀"]`;
    t.ok(agrees(t, Buffer.from(d, 'utf8'), `edge ${pad}`), `gives a text (${pad})`);
  }
});

t.test('invalid JSON stays invalid', async (t) => {
  const bad = ['{"a":°}', '°', '["x"]°', '{"a":"\\°"}', '{"a":"\\\\\\°"}', '{"a":"\\u12°4"}', '{°:1}', '["a" °]', '{"a":1,}'];
  for (const d of bad) {
    const b = Buffer.from(d, 'utf8');
    t.throws(() => JSON.parse(b.toString('utf8')), `${d}: invalid as UTF-8 text`);
    const ascii = asciiJsonText(b);
    if (ascii !== undefined) t.throws(() => JSON.parse(ascii), `${d}: invalid as ASCII text`);
  }
  // A raw character escaped by a backslash cannot be rewritten: the caller decodes instead.
  t.equal(asciiJsonText(Buffer.from('{"a":"\\°"}', 'utf8')), undefined);
  t.not(asciiJsonText(Buffer.from('{"a":"\\\\°"}', 'utf8')), undefined, 'an escaped backslash before it is fine');
});

t.test('invalid UTF-8 gives undefined (the caller decodes as before, U+FFFD included)', async (t) => {
  const seqs = [
    [0x80], [0xbf], [0xc0, 0x80], [0xc1, 0xbf], [0xc2], [0xc2, 0x41], [0xe0, 0x80, 0x80], [0xe0, 0x9f, 0xbf],
    [0xed, 0xa0, 0x80], [0xed, 0xbf, 0xbf], [0xe2, 0x82], [0xf0, 0x80, 0x80, 0x80], [0xf0, 0x8f, 0xbf, 0xbf],
    [0xf4, 0x90, 0x80, 0x80], [0xf5, 0x80, 0x80, 0x80], [0xff], [0xfe], [0xc2, 0xb0, 0xb0],
  ];
  for (const s of seqs) {
    const b = Buffer.concat([Buffer.from('["a'), Buffer.from(s), Buffer.from('b"]')]);
    t.equal(asciiJsonText(b), undefined, `${Buffer.from(s).toString('hex')}`);
  }
  // The edges of the valid ranges are valid.
  for (const s of [[0xc2, 0x80], [0xdf, 0xbf], [0xe0, 0xa0, 0x80], [0xed, 0x9f, 0xbf], [0xee, 0x80, 0x80], [0xef, 0xbf, 0xbf], [0xf0, 0x90, 0x80, 0x80], [0xf4, 0x8f, 0xbf, 0xbf]]) {
    const b = Buffer.concat([Buffer.from('["a'), Buffer.from(s), Buffer.from('b"]')]);
    t.ok(agrees(t, b, Buffer.from(s).toString('hex')), `${Buffer.from(s).toString('hex')} gives a text`);
  }
});

t.test('random documents and random bytes agree with the UTF-8 path', async (t) => {
  let seed = 12345;
  const rand = (n: number): number => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return seed % n;
  };
  const frags = ['{', '}', '[', ']', '"', '\\', ',', ':', ' ', 'a', '1', 'true', '°', '€', '😀', '\\u00b0', '\\\\', 'é', '\u2028'];
  const inside = ['a', '1', ' ', '°', '€', '😀', '\\u00b0', '\\\\', '\\"', '\\n', 'é', '\u2028', '\\ud83d\\ude00'];
  let texts = 0;
  let valid = 0;
  for (let i = 0; i < 3000; i++) {
    const parts: string[] = [];
    const len = 1 + rand(12);
    // Half of them the inside of a string (mostly valid escapes) so that many parse.
    const inString = rand(2) === 1;
    for (let k = 0; k < len; k++) parts.push(inString && rand(10) > 0 ? inside[rand(inside.length)]! : frags[rand(frags.length)]!);
    const s = inString ? `["${parts.join('')}"]` : parts.join('');
    let bytes = Buffer.from(s, 'utf8');
    if (rand(10) === 0) {
      // Corrupt one byte.
      bytes = Buffer.from(bytes);
      bytes[rand(bytes.length)] = rand(256);
    }
    const ascii = asciiJsonText(bytes);
    if (ascii === undefined) continue;
    texts++;
    const want = parse(bytes.toString('utf8'));
    const got = parse(ascii);
    if (want.ok) valid++;
    if (got.ok !== want.ok || (want.ok && got.ok && JSON.stringify(got.value) !== JSON.stringify(want.value))) {
      t.fail(`differs for ${bytes.toString('hex')}`);
      return;
    }
  }
  t.ok(texts > 2000, `${texts} texts checked`);
  t.ok(valid > 500, `${valid} of them valid JSON`);
});
