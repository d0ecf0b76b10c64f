import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { chooseFormat, renderFields, renderTable, serialize } from '../../src/cli/output.js';
import { UsageError } from '../../src/cli/usage.js';

describe('chooseFormat', () => {
  it.each<[string | undefined, boolean, string]>([
    [undefined, true, 'table'],
    [undefined, false, 'json'],
    ['json', true, 'json'],
    ['yaml', true, 'yaml'],
    ['yaml', false, 'yaml'],
    ['table', false, 'table'],
  ])('-o %s with isTTY %s gives %s', (flag, isTTY, format) => {
    expect(chooseFormat(flag, isTTY, 'json')).toBe(format);
  });

  it("falls back to the command's own piped format", () => {
    expect(chooseFormat(undefined, false, 'access-token')).toBe('access-token');
    expect(chooseFormat(undefined, true, 'access-token')).toBe('table');
  });

  it.each(['xml', '', 'JSON', 'access-token'])('refuses %j with one line naming the allowed values', (flag) => {
    expect(() => chooseFormat(flag, true, 'access-token')).toThrow(UsageError);
    expect(() => chooseFormat(flag, true, 'access-token')).toThrow(/^--output must be one of table, json, yaml; got ".*"$/);
  });
});

describe('serialize', () => {
  it('prints indented JSON and YAML that parse back to the value', () => {
    const value = { id: 'a', uris: ['x', 'y'], public: false };
    expect(serialize('json', value)).toBe(JSON.stringify(value, null, 2));
    expect(parse(serialize('yaml', value))).toEqual(value);
    expect(serialize('yaml', value)).not.toMatch(/\n$/);
  });
});

describe('renderTable', () => {
  it('aligns columns under upper-case headers, three spaces apart, without trailing blanks', () => {
    expect(
      renderTable(
        ['client id', 'name', 'scope'],
        [
          ['a', 'Long name', ''],
          ['bbbbbbbbbbb', 'x', 'openid offline'],
        ],
      ),
    ).toBe(['CLIENT ID     NAME        SCOPE', 'a             Long name   <none>', 'bbbbbbbbbbb   x           openid offline'].join('\n'));
  });

  it('counts code points, so a name outside the Basic Multilingual Plane keeps the columns straight', () => {
    expect(
      renderTable(
        ['name', 'id'],
        [
          ['Zoë 𝔸', '1'],
          ['plain', '2'],
        ],
      ),
    ).toBe(['NAME    ID', 'Zoë 𝔸   1', 'plain   2'].join('\n'));
  });

  it('blanks control characters that would break the layout or drive the terminal', () => {
    expect(renderTable(['name'], [['evil\n\u001b[31mred\u0007']])).toBe('NAME\nevil  [31mred');
  });

  it('prints only the headers for no rows', () => {
    expect(renderTable(['a', 'b'], [])).toBe('A   B');
  });
});

describe('renderFields', () => {
  it('aligns values after the labels and lists each item of a list on its own line', () => {
    expect(
      renderFields([
        ['ID', 'x'],
        ['Redirect URIs', ['https://a', 'https://b']],
        ['Owner', ''],
        ['Contacts', []],
      ]),
    ).toBe(['ID:              x', 'Redirect URIs:   https://a', '                 https://b', 'Owner:           <none>', 'Contacts:        <none>'].join('\n'));
  });
});
