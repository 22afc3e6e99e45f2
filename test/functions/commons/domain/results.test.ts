import { describe, expect, it } from 'vitest';
import { worstResult } from '../../../../functions/commons/domain/results.ts';

describe('worstResult', () => {
  it('orders failed > would-halt > halted > already-halted > no-active-rollout', () => {
    expect(worstResult([{ result: 'no-active-rollout' }, { result: 'already-halted' }])).toBe(
      'already-halted',
    );
    expect(worstResult([{ result: 'already-halted' }, { result: 'halted' }])).toBe('halted');
    expect(worstResult([{ result: 'halted' }, { result: 'would-halt' }])).toBe('would-halt');
    expect(worstResult([{ result: 'would-halt' }, { result: 'failed' }, { result: 'halted' }])).toBe(
      'failed',
    );
  });

  it('has no outcome for no targets', () => {
    expect(worstResult([])).toBeUndefined();
  });
});
