import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { describeCondition, evaluateCondition, parseCondition } from '../src/core/condition.js';

describe('parseCondition', () => {
  it.each([
    ['dns_plan == reuse', { name: 'dns_plan', op: '==', value: 'reuse' }],
    ['dns_plan != reuse', { name: 'dns_plan', op: '!=', value: 'reuse' }],
    ['dns_plan==reuse', { name: 'dns_plan', op: '==', value: 'reuse' }],
    ['  x  ==  y  ', { name: 'x', op: '==', value: 'y' }],
    ['x == "two words"', { name: 'x', op: '==', value: 'two words' }],
    ["x == 'quoted'", { name: 'x', op: '==', value: 'quoted' }],
    ['x == ""', { name: 'x', op: '==', value: '' }],
    ['x == a b', { name: 'x', op: '==', value: 'a b' }],
    ['x == "mismatched\'', { name: 'x', op: '==', value: '"mismatched\'' }],
    ['_v1 != 2', { name: '_v1', op: '!=', value: '2' }],
    ['x == a == b', { name: 'x', op: '==', value: 'a == b' }],
  ])('%s', (text, condition) => {
    expect(parseCondition(text)).toEqual(condition);
  });

  it.each(['', 'x', 'x =', 'x = y', 'x === y', 'x !== y', 'x ==', 'x !=   ', '== y', '1x == y', 'x-y == z', 'x <> y', 'x > 1', '!x', 'x in [a]', 'x ~= y'])(
    '"%s" is not a condition',
    (text) => {
      expect(parseCondition(text)).toBeUndefined();
    },
  );

  it('never throws, and what it reads is a name, an operator and a value', () => {
    fc.assert(
      fc.property(fc.string(), (text) => {
        const condition = parseCondition(text);
        if (condition === undefined) return;
        expect(condition.name).toMatch(/^[A-Za-z_][A-Za-z0-9_]*$/);
        expect(['==', '!=']).toContain(condition.op);
      }),
    );
  });

  it('reads back any name, operator and plain value', () => {
    const name = fc.stringMatching(/^[A-Za-z_][A-Za-z0-9_]{0,10}$/);
    const value = fc.stringMatching(/^[A-Za-z0-9_.:/-]{1,12}$/);
    fc.assert(
      fc.property(name, fc.constantFrom('==', '!=') as fc.Arbitrary<'==' | '!='>, value, (n, op, v) => {
        expect(parseCondition(`${n} ${op} ${v}`)).toEqual({ name: n, op, value: v });
      }),
    );
  });
});

describe('evaluateCondition', () => {
  const eq = { name: 'plan', op: '==' as const, value: 'reuse' };
  const ne = { name: 'plan', op: '!=' as const, value: 'reuse' };
  it.each([
    [eq, 'reuse', true],
    [eq, 'rename', false],
    [eq, undefined, false],
    [eq, 'Reuse', false],
    [eq, 'reuse ', false],
    [ne, 'reuse', false],
    [ne, 'rename', true],
    [ne, undefined, true],
  ])('%o with %s is %s', (condition, value, result) => {
    expect(evaluateCondition(condition, value)).toBe(result);
  });

  it('!= is the negation of ==', () => {
    fc.assert(
      fc.property(fc.string(), fc.option(fc.string(), { nil: undefined }), (target, value) => {
        const is = evaluateCondition({ name: 'v', op: '==', value: target }, value);
        expect(evaluateCondition({ name: 'v', op: '!=', value: target }, value)).toBe(!is);
      }),
    );
  });

  it('describes itself as written', () => {
    expect(describeCondition(eq)).toBe('plan == reuse');
    expect(describeCondition(ne)).toBe('plan != reuse');
  });
});
