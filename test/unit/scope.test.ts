import { describe, expect, it } from 'vitest';
import { scopeCovers, splitScope } from '../../src/server/oauth2/scope.js';

// fosite's WildcardScopeStrategy (what Hydra uses): `*` stands for one non-empty part; a trailing `*` also covers
// deeper parts; anything else must be equal part by part.
describe('scopeCovers (wildcard strategy)', () => {
  it.each<[string[], string, boolean]>([
    [[], 'a', false],
    [['orders.read'], 'orders.read', true],
    [['orders.read'], 'orders.write', false],
    [['orders.read'], 'orders', false],
    [['orders'], 'orders.read', false],
    [['orders'], 'orders.*', false],
    [['orders'], 'orde*', false],
    [['orders.*'], 'orders.read', true],
    [['orders.*'], 'orders.read.items', true],
    [['orders.*'], 'orders', false],
    [['orders.*'], 'orders.', false],
    [['orders.*'], 'ordersx.read', false],
    [['orders.*'], 'other.read', false],
    [['orders*'], 'orders', false],
    [['orders*'], 'ordersx', false],
    [['orders*'], 'orders*', true],
    [['*'], 'anything', true],
    [['*'], 'any.thing', true],
    [['*'], '', false],
    [['a.*.c'], 'a.b.c', true],
    [['a.*.c'], 'a.*.c', true],
    [['a.*.c'], 'a..c', false],
    [['a.*.c'], 'a.c', false],
    [['a.*.c'], 'a.b.c.d', false],
    [['a.*.c'], 'a.b.d', false],
    [['a.*.c.*'], 'a.x.c.y', true],
    [['a.*.c.*'], 'a.x.c.y.z', true],
    [['a.*.c.*'], 'a.x.c', false],
    [['a.*.c.*'], 'a.x.y.c.z', false],
    // The management scopes of the spec, with the root client's hydra.*.
    [['hydra.*'], 'hydra.clients', true],
    [['hydra.*'], 'hydra.introspect', true],
    [['hydra.*'], 'hydra.oauth2.flush', true],
    [['hydra.*'], 'hydra', false],
    [['hydra.clients'], 'hydra.introspect', false],
    [['openid', 'hydra.*'], 'hydra.consent', true],
  ])('%j covers %s: %s', (granted, needle, expected) => {
    expect(scopeCovers(granted, needle)).toBe(expected);
  });
});

describe('splitScope', () => {
  it('splits on spaces and drops empty parts', () => {
    expect(splitScope('a b  c')).toEqual(['a', 'b', 'c']);
    expect(splitScope('')).toEqual([]);
    expect(splitScope(undefined)).toEqual([]);
  });
});
