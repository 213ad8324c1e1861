// describeValue: the short rendering of a value in config error messages.
import { describe, expect, it } from 'vitest';
import { describeValue } from '../src/describeValue.js';

describe('describeValue', () => {
  it.each<[string, unknown, string]>([
    ['a string, quoted', 'SIGKILL', '"SIGKILL"'],
    ['a number', -5, '-5'],
    ['a boolean', false, 'false'],
    ['null', null, 'null'],
    ['undefined', undefined, 'undefined'],
    ['a symbol', Symbol('s'), 'symbol'],
    ['a bigint', 12n, '12n'],
    ['a function', () => 1, 'a function'],
    [
      'a class',
      class Foo {
        readonly x = 1;
      },
      'a function',
    ],
    ['a URL, as its href', new URL('http://x/y.js?q=1'), 'http://x/y.js?q=1'],
    ['an object, as JSON', { a: 1, b: ['x'] }, '{"a":1,"b":["x"]}'],
    ['an array, as JSON', [1, 'x', null], '[1,"x",null]'],
    ['a Date, as JSON', new Date(0), '"1970-01-01T00:00:00.000Z"'],
  ])('%s', (_label, value, shown) => {
    expect(describeValue(value)).toBe(shown);
  });

  it('falls back to the type tag when JSON fails (cycles, nested bigint)', () => {
    const cyclic: Record<string, unknown> = { a: 1 };
    cyclic.self = cyclic;
    expect(describeValue(cyclic)).toBe('[object Object]');
    const cyclicArray: unknown[] = [];
    cyclicArray.push(cyclicArray);
    expect(describeValue(cyclicArray)).toBe('[object Array]');
    expect(describeValue({ n: 1n })).toBe('[object Object]');
  });

  it('truncates past 80 characters to 77 plus "..."', () => {
    const fits = 'x'.repeat(78); // quoted: exactly 80
    expect(describeValue(fits)).toBe(`"${fits}"`);
    const over = 'x'.repeat(79); // quoted: 81
    const shown = describeValue(over);
    expect(shown).toHaveLength(80);
    expect(shown).toBe(`"${'x'.repeat(76)}...`);
    expect(describeValue({ list: Array.from({ length: 100 }, (_, i) => i) })).toMatch(
      /^\{"list":\[0,1,2,.{50,}\.\.\.$/,
    );
  });

  // Regression (fixed) (src/describeValue.ts:
  it('shows NaN and Infinity as themselves, not as null', () => {
    expect(describeValue(Number.NaN)).toBe('NaN');
    expect(describeValue(Number.POSITIVE_INFINITY)).toBe('Infinity');
  });
});
