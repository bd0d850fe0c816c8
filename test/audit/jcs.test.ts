import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { CanonicalizationError, canonicalize } from '../../exchange-service/src/audit/jcs.ts';

describe('canonicalize: RFC 8785 published examples', () => {
  test('§3.2.2 sample: numbers, string escapes, literals, member order', () => {
    // The RFC's input text, parsed as a verifier would parse it.
    const input = JSON.parse(
      '{"numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],' +
        ' "string": "\\u20ac$\\u000F\\u000aA\'\\u0042\\u0022\\u005c\\\\\\"\\/",' +
        ' "literals": [null, true, false]}',
    );
    assert.equal(
      canonicalize(input),
      '{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],' + '"string":"€$\\u000f\\nA\'B\\"\\\\\\\\\\"/"}',
    );
  });

  test('§3.2.3 sample: members sorted by UTF-16 code units', () => {
    const input = {
      '\u20ac': 'Euro Sign',
      '\r': 'Carriage Return',
      '\ufb33': 'Hebrew Letter Dalet With Dagesh',
      '1': 'One',
      '\ud83d\ude00': 'Emoji: Grinning Face',
      '\u0080': 'Control',
      '\u00f6': 'Latin Small Letter O With Diaeresis',
    };
    assert.equal(
      canonicalize(input),
      '{"\\r":"Carriage Return","1":"One","\u0080":"Control","\u00f6":"Latin Small Letter O With Diaeresis",' +
        '"\u20ac":"Euro Sign","\ud83d\ude00":"Emoji: Grinning Face","\ufb33":"Hebrew Letter Dalet With Dagesh"}',
    );
  });

  // Appendix B: IEEE 754 bit patterns and their canonical text.
  const numbers: Array<[string, string]> = [
    ['0000000000000000', '0'],
    ['8000000000000000', '0'], // minus zero
    ['0000000000000001', '5e-324'],
    ['8000000000000001', '-5e-324'],
    ['7fefffffffffffff', '1.7976931348623157e+308'],
    ['ffefffffffffffff', '-1.7976931348623157e+308'],
    ['4340000000000000', '9007199254740992'],
    ['c340000000000000', '-9007199254740992'],
    ['4430000000000000', '295147905179352830000'],
    ['44b52d02c7e14af5', '9.999999999999997e+22'],
    ['44b52d02c7e14af6', '1e+23'],
    ['44b52d02c7e14af7', '1.0000000000000001e+23'],
    ['444b1ae4d6e2ef4e', '999999999999999700000'],
    ['444b1ae4d6e2ef4f', '999999999999999900000'],
    ['444b1ae4d6e2ef50', '1e+21'],
    ['3eb0c6f7a0b5ed8c', '9.999999999999997e-7'],
    ['3eb0c6f7a0b5ed8d', '0.000001'],
    ['41b3de4355555553', '333333333.3333332'],
    ['41b3de4355555554', '333333333.33333325'],
    ['41b3de4355555555', '333333333.3333333'],
    ['41b3de4355555556', '333333333.3333334'],
    ['41b3de4355555557', '333333333.33333343'],
    ['becbf647612f3696', '-0.0000033333333333333333'],
    ['43143ff3c1cb0959', '1424953923781206.2'],
  ];
  for (const [bits, expected] of numbers) {
    test(`Appendix B number ${bits} → ${expected}`, () => {
      assert.equal(canonicalize(Buffer.from(bits, 'hex').readDoubleBE(0)), expected);
    });
  }

  const notNumbers: Array<[string, string]> = [
    ['7fffffffffffffff', 'NaN'],
    ['7ff0000000000000', 'Infinity'],
  ];
  for (const [bits, name] of notNumbers) {
    test(`Appendix B ${bits} (${name}) is refused`, () => {
      assert.throws(() => canonicalize(Buffer.from(bits, 'hex').readDoubleBE(0)), CanonicalizationError);
    });
  }
});

describe('canonicalize: structure and strings', () => {
  const cases: Array<{ name: string; input: unknown; expected: string }> = [
    { name: 'empty object', input: {}, expected: '{}' },
    { name: 'empty array', input: [], expected: '[]' },
    {
      name: 'nested members sorted at every level',
      input: { b: [{ z: 1, a: 2 }], a: { y: null, x: true } },
      expected: '{"a":{"x":true,"y":null},"b":[{"a":2,"z":1}]}',
    },
    { name: 'array order kept', input: [3, 1, 2], expected: '[3,1,2]' },
    { name: 'undefined member left out', input: { a: undefined, b: 1 }, expected: '{"b":1}' },
    { name: 'short escapes for \\b \\t \\n \\f \\r', input: '\b\t\n\f\r', expected: '"\\b\\t\\n\\f\\r"' },
    { name: 'other C0 controls as lowercase \\u00xx', input: '\u0000\u0001\u001b\u001f', expected: '"\\u0000\\u0001\\u001b\\u001f"' },
    { name: 'DEL, C1 controls, U+2028 and "/" literal', input: '\u007f\u009b\u2028/', expected: '"\u007f\u009b\u2028/"' },
    { name: 'quote and backslash escaped', input: 'a"b\\c', expected: '"a\\"b\\\\c"' },
    { name: 'surrogate pair kept as is', input: '\ud83d\ude00', expected: '"\ud83d\ude00"' },
    { name: 'null-prototype object accepted', input: Object.assign(Object.create(null) as object, { b: 2, a: 1 }), expected: '{"a":1,"b":2}' },
    { name: 'integers and fractions', input: [0, -1, 1.5, 100, 1e21, 1e-7], expected: '[0,-1,1.5,100,1e+21,1e-7]' },
  ];
  for (const { name, input, expected } of cases) {
    test(name, () => assert.equal(canonicalize(input), expected));
  }

  test('parse → canonicalize is a fixed point', () => {
    const text = canonicalize({ z: ['\u0000', { b: 0.1, a: -0 }], é: 'x', e: 1e300 });
    assert.equal(canonicalize(JSON.parse(text)), text);
  });
});

describe('canonicalize: refuses what is not I-JSON', () => {
  const cyclic: Record<string, unknown> = {};
  cyclic.self = cyclic;
  const cases: Array<{ name: string; input: unknown }> = [
    { name: 'NaN', input: { n: Number.NaN } },
    { name: 'Infinity', input: [Number.POSITIVE_INFINITY] },
    { name: '-Infinity', input: Number.NEGATIVE_INFINITY },
    { name: 'undefined in an array', input: [1, undefined] },
    // biome-ignore lint/suspicious/noSparseArray: the hole is the case under test
    { name: 'hole in an array', input: [1, , 2] },
    { name: 'undefined at top level', input: undefined },
    { name: 'function', input: { f: () => 1 } },
    { name: 'symbol', input: [Symbol('s')] },
    { name: 'bigint', input: { n: 10n } },
    { name: 'Date', input: { at: new Date(0) } },
    { name: 'Map', input: new Map([['a', 1]]) },
    {
      name: 'class instance',
      input: new (class Point {
        x = 1;
      })(),
    },
    { name: 'cycle', input: cyclic },
    { name: 'lone high surrogate in a value', input: { s: 'a\ud800b' } },
    { name: 'lone low surrogate in a member name', input: { '\udc00': 1 } },
  ];
  for (const { name, input } of cases) {
    test(name, () => assert.throws(() => canonicalize(input), CanonicalizationError));
  }

  test('shared (non-cyclic) references are fine', () => {
    const shared = { a: 1 };
    assert.equal(canonicalize({ x: shared, y: shared }), '{"x":{"a":1},"y":{"a":1}}');
  });
});
