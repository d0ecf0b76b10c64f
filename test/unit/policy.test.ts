import { describe, expect, it } from 'vitest';
import { ipInCidr } from '../../src/server/policy/cidr.js';
import { decide, type AccessRequest } from '../../src/server/policy/engine.js';
import { matchesAny, matchesPattern } from '../../src/server/policy/matcher.js';
import { policySchema, type Policy } from '../../src/config/policy.js';
import { PolicyService } from '../../src/server/policy/service.js';
import type { PolicyStore } from '../../src/server/policy/store.js';

const policy = (fields: Partial<Policy> & Pick<Policy, 'id'>): Policy =>
  policySchema.parse({ subjects: ['<.*>'], resources: ['<.*>'], actions: ['<.*>'], effect: 'allow', ...fields });

const request = (fields: Partial<AccessRequest> = {}): AccessRequest => ({
  subject: 'alice',
  resource: 'rn:hydra:clients',
  action: 'get',
  context: {},
  ...fields,
});

describe('policy matcher', () => {
  it.each<[string, string, boolean]>([
    // Literal strings match exactly and case-sensitively.
    ['rn:hydra:clients', 'rn:hydra:clients', true],
    ['rn:hydra:clients', 'rn:hydra:clients:1', false],
    ['rn:hydra:clients', 'RN:HYDRA:CLIENTS', false],
    ['a.b', 'axb', false],
    // Regex parts, anchored to the whole value.
    ['<.*>', 'anything at all', true],
    ['<.*>', '', true],
    ['rn:hydra:<.*>', 'rn:hydra:clients:42', true],
    ['rn:hydra:<.*>', 'xrn:hydra:clients', false],
    ['<reader-.*>', 'reader-1', true],
    ['<reader-.*>', 'xreader-1', false],
    ['<reader-.*>', 'READER-1', false],
    ['rn:hydra:<clients>', 'rn:hydra:clients:extra', false],
    // Literal text around regex parts is escaped, not interpreted.
    ['a.b:<\\d+>', 'a.b:12', true],
    ['a.b:<\\d+>', 'axb:12', false],
    ['(x)<.*>', '(x)y', true],
    // An alternation stays inside its part: <foo|bar> must not match "foobar" or "xbar".
    ['<foo|bar>', 'foo', true],
    ['<foo|bar>', 'bar', true],
    ['<foo|bar>', 'foobar', false],
    ['<foo|bar>', 'xbar', false],
    ['pre-<foo|bar>-post', 'pre-bar-post', true],
    // Several regex parts.
    ['rn:<[a-z]+>:clients:<\\d+>', 'rn:hydra:clients:42', true],
    ['rn:<[a-z]+>:clients:<\\d+>', 'rn:hydra:clients:x', false],
    // Nested <…> inside a part (a named group) belongs to the regex.
    ['<(?<name>a+)>', 'aaa', true],
    ['<(?<name>a+)>', 'aab', false],
    // An unclosed < is literal text.
    ['a<b', 'a<b', true],
    ['a<b', 'ab', false],
  ])('%s matches %s: %s', (pattern, value, expected) => {
    expect(matchesPattern(pattern, value)).toBe(expected);
  });

  it.each(['<[unclosed>', '<(>', '<a{2,1}>', '<*>'])('never matches with the invalid regex %s', (pattern) => {
    for (const value of ['', 'a', 'aa', '[unclosed', '(', '*', pattern]) expect(matchesPattern(pattern, value)).toBe(false);
  });

  it('gives the same answer when asked again (compiled patterns are cached)', () => {
    for (let i = 0; i < 3; i++) {
      expect(matchesPattern('<reader-\\d+>', 'reader-7')).toBe(true);
      expect(matchesPattern('<reader-\\d+>', 'reader-x')).toBe(false);
    }
  });

  it('matchesAny needs one matching pattern; none of an empty list', () => {
    expect(matchesAny(['a', '<b.*>'], 'bee')).toBe(true);
    expect(matchesAny(['a', '<b.*>'], 'c')).toBe(false);
    expect(matchesAny([], 'a')).toBe(false);
  });
});

describe('ipInCidr', () => {
  it.each<[string, string, boolean]>([
    ['127.0.0.1', '127.0.0.0/8', true],
    ['127.255.255.255', '127.0.0.0/8', true],
    ['128.0.0.1', '127.0.0.0/8', false],
    ['10.1.2.3', '10.0.0.0/8', true],
    ['127.0.0.1', '10.0.0.0/8', false],
    ['::ffff:127.0.0.1', '127.0.0.0/8', true],
    ['::1', '::1/128', true],
    ['::2', '::1/128', false],
    ['192.168.1.1', '0.0.0.0/0', true],
    ['::1', '127.0.0.0/8', false],
    ['127.0.0.1', '::/0', false],
    ['not-an-ip', '127.0.0.0/8', false],
    ['127.0.0.1', '127.0.0.0', false],
    ['127.0.0.1', '127.0.0.0/33', false],
    ['127.0.0.1', '127.0.0.0/x', false],
    ['127.0.0.1', 'garbage/8', false],
  ])('%s in %s: %s', (address, cidr, expected) => {
    expect(ipInCidr(address, cidr)).toBe(expected);
  });
});

describe('policy engine', () => {
  it('denies by default', () => {
    expect(decide([], request())).toEqual({ allowed: false, reason: 'no policy allows this request' });
    expect(decide([policy({ id: 'other', subjects: ['bob'] })], request()).allowed).toBe(false);
  });

  it('allows when subject, resource and action all match one allow policy', () => {
    const p = policy({ id: 'p', subjects: ['alice'], resources: ['rn:hydra:clients'], actions: ['get', 'create'] });
    expect(decide([p], request())).toEqual({ allowed: true, policy: 'p' });
    expect(decide([p], request({ action: 'delete' })).allowed).toBe(false);
    expect(decide([p], request({ resource: 'rn:hydra:clients:1' })).allowed).toBe(false);
    expect(decide([p], request({ subject: 'bob' })).allowed).toBe(false);
  });

  it('lets a matching deny win over any allow, whatever the order', () => {
    const allow = policy({ id: 'allow-all' });
    const deny = policy({ id: 'deny-alice', subjects: ['alice'], effect: 'deny' });
    expect(decide([allow, deny], request())).toEqual({ allowed: false, reason: 'denied by policy deny-alice' });
    expect(decide([deny, allow], request())).toEqual({ allowed: false, reason: 'denied by policy deny-alice' });
    expect(decide([allow, deny], request({ subject: 'bob' }))).toEqual({ allowed: true, policy: 'allow-all' });
  });

  it('ignores a deny that does not match', () => {
    const deny = policy({ id: 'deny-delete', effect: 'deny', actions: ['delete'] });
    expect(decide([policy({ id: 'allow' }), deny], request({ action: 'get' })).allowed).toBe(true);
  });

  it('EqualsSubjectCondition: the context value must equal the subject', () => {
    const p = policy({ id: 'owner', conditions: { owner: { type: 'EqualsSubjectCondition' } } });
    expect(decide([p], request({ context: { owner: 'alice' } })).allowed).toBe(true);
    expect(decide([p], request({ context: { owner: 'bob' } })).allowed).toBe(false);
    expect(decide([p], request({ context: { owner: '' } })).allowed).toBe(false);
    expect(decide([p], request({ context: {} })).allowed).toBe(false);
  });

  it('StringEqualCondition: the context value must equal the configured string', () => {
    const p = policy({ id: 'team', conditions: { team: { type: 'StringEqualCondition', options: { equals: 'a' } } } });
    expect(decide([p], request({ context: { team: 'a' } })).allowed).toBe(true);
    expect(decide([p], request({ context: { team: 'A' } })).allowed).toBe(false);
    expect(decide([p], request({ context: {} })).allowed).toBe(false);
  });

  it('CIDRCondition: the context address must lie in the network', () => {
    const p = policy({ id: 'net', conditions: { remoteIP: { type: 'CIDRCondition', options: { cidr: '127.0.0.0/8' } } } });
    expect(decide([p], request({ context: { remoteIP: '127.0.0.1' } })).allowed).toBe(true);
    expect(decide([p], request({ context: { remoteIP: '10.0.0.1' } })).allowed).toBe(false);
    expect(decide([p], request({ context: {} })).allowed).toBe(false);
  });

  it('needs every condition of a policy to hold', () => {
    const p = policy({
      id: 'both',
      conditions: { owner: { type: 'EqualsSubjectCondition' }, remoteIP: { type: 'CIDRCondition', options: { cidr: '10.0.0.0/8' } } },
    });
    expect(decide([p], request({ context: { owner: 'alice', remoteIP: '10.0.0.1' } })).allowed).toBe(true);
    expect(decide([p], request({ context: { owner: 'alice', remoteIP: '127.0.0.1' } })).allowed).toBe(false);
    expect(decide([p], request({ context: { owner: 'bob', remoteIP: '10.0.0.1' } })).allowed).toBe(false);
  });

  it('applies a conditional deny only when its condition holds', () => {
    const allow = policy({ id: 'allow' });
    const deny = policy({ id: 'deny-outside', effect: 'deny', conditions: { remoteIP: { type: 'CIDRCondition', options: { cidr: '10.0.0.0/8' } } } });
    expect(decide([allow, deny], request({ context: { remoteIP: '10.9.9.9' } })).allowed).toBe(false);
    expect(decide([allow, deny], request({ context: { remoteIP: '127.0.0.1' } })).allowed).toBe(true);
  });

  it('never lets an invalid regex match, so a broken allow allows nothing and others still work', () => {
    const broken = policy({ id: 'broken', subjects: ['<[>'] });
    expect(decide([broken], request({ subject: '[' })).allowed).toBe(false);
    expect(decide([broken, policy({ id: 'fine', subjects: ['alice'] })], request()).allowed).toBe(true);
  });
});

describe('policy schema', () => {
  const valid = { id: 'p', subjects: ['a'], effect: 'allow', resources: ['r'], actions: ['get'] };

  it('fills in description and conditions', () => {
    expect(policySchema.parse(valid)).toEqual({ ...valid, description: '', conditions: {} });
  });

  it.each<[string, Record<string, unknown>]>([
    ['an unknown effect', { ...valid, effect: 'maybe' }],
    ['no subjects', { ...valid, subjects: [] }],
    ['an empty action', { ...valid, actions: [''] }],
    ['an unknown field', { ...valid, priority: 1 }],
    ['an unknown condition type', { ...valid, conditions: { x: { type: 'RegexCondition' } } }],
    ['a malformed CIDR', { ...valid, conditions: { ip: { type: 'CIDRCondition', options: { cidr: 'localhost' } } } }],
    ['a StringEqualCondition without equals', { ...valid, conditions: { x: { type: 'StringEqualCondition', options: {} } } }],
  ])('refuses %s', (_what, input) => {
    expect(policySchema.safeParse(input).success).toBe(false);
  });
});

describe('PolicyService', () => {
  it('decides over configured and stored policies together, deny winning across both', async () => {
    const stored: Policy[] = [policy({ id: 'stored-allow', subjects: ['alice', 'bob'] })];
    const store: PolicyStore = { list: async () => stored, insertIfMissing: async () => true };
    const service = new PolicyService(store, [policy({ id: 'configured-deny', subjects: ['bob'], effect: 'deny' })]);
    await service.reload();
    expect(await service.decide(request({ subject: 'alice' }))).toEqual({ allowed: true, policy: 'stored-allow' });
    expect(await service.decide(request({ subject: 'bob' }))).toEqual({ allowed: false, reason: 'denied by policy configured-deny' });
    expect((await service.decide(request({ subject: 'carol' }))).allowed).toBe(false);
  });
});
