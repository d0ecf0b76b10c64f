import { describe, expect, it } from 'vitest';
import { BatchWriter } from '../../src/db/batch-writer.js';

/** A table that refuses rows holding "bad", the way PostgreSQL refuses a NUL byte in text, failing the whole statement. */
function refusingTable() {
  const rows: string[] = [];
  const statements: string[][] = [];
  const writeAll = async (items: string[]) => {
    statements.push(items);
    if (items.some((item) => item.includes('bad'))) throw new Error(`refused ${items.filter((item) => item.includes('bad')).join(',')}`);
    rows.push(...items);
  };
  return { rows, statements, writeAll };
}

describe('BatchWriter', () => {
  it('writes the rows asked for in one turn of the event loop as one statement', async () => {
    const table = refusingTable();
    const writer = new BatchWriter(table.writeAll);
    await Promise.all(['a', 'b', 'c'].map((item) => writer.write(item)));
    expect(table.statements).toEqual([['a', 'b', 'c']]);
    expect(table.rows).toEqual(['a', 'b', 'c']);
  });

  it('splits a turn larger than maxBatch into several statements', async () => {
    const table = refusingTable();
    const writer = new BatchWriter(table.writeAll, 2);
    await Promise.all(['a', 'b', 'c'].map((item) => writer.write(item)));
    expect(table.statements).toEqual([['a', 'b'], ['c']]);
  });

  it('fails only the caller whose row the database refused; the others grouped with it are written', async () => {
    const table = refusingTable();
    const writer = new BatchWriter(table.writeAll);
    const outcomes = await Promise.allSettled(['a', 'bad', 'c'].map((item) => writer.write(item)));
    expect(outcomes.map((outcome) => outcome.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect((outcomes[1] as PromiseRejectedResult).reason).toEqual(new Error('refused bad'));
    expect(table.rows).toEqual(['a', 'c']);
    // The grouped statement, then each row on its own.
    expect(table.statements).toEqual([['a', 'bad', 'c'], ['a'], ['bad'], ['c']]);
  });

  it('passes a lone row its own error without writing it twice', async () => {
    const table = refusingTable();
    const writer = new BatchWriter(table.writeAll);
    await expect(writer.write('bad')).rejects.toThrow('refused bad');
    expect(table.statements).toEqual([['bad']]);
  });
});
