import { describe, expect, it } from 'vitest';
import {
  formatBytes,
  formatMebibytes,
  formatMs,
  formatRatio,
  formatTable,
  formatVerdict,
} from '../../../tools/bench/format.ts';

describe('formatTable', () => {
  it('writes a Markdown table padded to the widest cell, right-aligned columns marked in the rule', () => {
    const table = formatTable(
      [{ header: 'name' }, { header: 'ms', align: 'right' }],
      [
        ['warm', '3.10'],
        ['cold start', '250'],
      ],
    );

    expect(table.split('\n')).toEqual([
      '| name       |   ms |',
      '| ---------- | ---: |',
      '| warm       | 3.10 |',
      '| cold start |  250 |',
    ]);
  });

  it('keeps every column at least three characters wide, as a Markdown rule needs', () => {
    expect(formatTable([{ header: 'L' }], [['0']]).split('\n')).toEqual(['| L   |', '| --- |', '| 0   |']);
  });

  it('escapes pipes and flattens line breaks so a cell cannot break the table', () => {
    const table = formatTable([{ header: 'a|b' }], [['one\ntwo|three']]);

    expect(table.split('\n')).toEqual(['| a\\|b           |', '| -------------- |', '| one two\\|three |']);
  });

  it('pads short rows with empty cells and refuses rows with more cells than columns', () => {
    expect(formatTable([{ header: 'a' }, { header: 'b' }], [['x']]).split('\n')[2]).toBe('| x   |     |');
    expect(() => formatTable([{ header: 'a' }], [['x', 'y']])).toThrow(RangeError);
  });

  it('needs at least one column', () => {
    expect(() => formatTable([], [])).toThrow(RangeError);
  });
});

describe('number formats', () => {
  it('shows milliseconds with a precision that suits their size', () => {
    expect(formatMs(0.4234)).toBe('0.42 ms');
    expect(formatMs(12.34)).toBe('12.3 ms');
    expect(formatMs(250.4)).toBe('250 ms');
    expect(formatMs(1520)).toBe('1.52 s');
    expect(formatMs(undefined)).toBe('—');
    expect(formatMs(Number.NaN)).toBe('—');
  });

  it('shows sizes in decimal kilobytes with the exact byte count', () => {
    expect(formatBytes(1_604_607)).toBe('1,604.6 kB (1,604,607 B)');
    expect(formatBytes(900_000)).toBe('900.0 kB (900,000 B)');
    expect(formatBytes(999)).toBe('999 B');
  });

  it('shows memory in mebibytes, as Lambda counts its memory size', () => {
    expect(formatMebibytes(128 * 1024 * 1024)).toBe('128.0 MiB');
    expect(formatMebibytes(undefined)).toBe('—');
  });

  it('shows ratios with two decimals, and none when the denominator is zero or unknown', () => {
    expect(formatRatio(3, 2)).toBe('1.50×');
    expect(formatRatio(1, 0)).toBe('—');
    expect(formatRatio(undefined, 2)).toBe('—');
  });

  it('says PASS or FAIL', () => {
    expect(formatVerdict(true)).toBe('PASS');
    expect(formatVerdict(false)).toBe('FAIL');
  });
});
