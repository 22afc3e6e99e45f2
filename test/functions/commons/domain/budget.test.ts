/**
 * The stack's tenant budget decisions (pure): a sliding window, never more than the limit in any
 * window; halts may use all of it, readers only while half stays free; a request without room learns
 * exactly when room frees.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type BudgetClass,
  type BudgetRules,
  decideGrant,
  pruneGrants,
} from '../../../../functions/commons/domain/budget.ts';

const RULES: BudgetRules = { limit: 20, spacingMs: 60_250 };

describe('decideGrant', () => {
  it('grants a halt every slot of the window and then names when the oldest grant leaves it', () => {
    let grants: readonly number[] = [];
    for (let index = 0; index < 20; index++) {
      const decision = decideGrant(grants, 1_000 + index, 'halt', RULES);
      if (!decision.granted) throw new Error(`halt ${index} refused`);
      grants = decision.grants;
    }
    expect(decideGrant(grants, 2_000, 'halt', RULES)).toEqual({ granted: false, retryAt: 1_000 + 60_250 });
    // At that moment the oldest grant has left, and the halt gets its slot.
    const later = decideGrant(grants, 61_250, 'halt', RULES);
    expect(later.granted).toBe(true);
    expect(later.granted && later.grants).toEqual([...grants.slice(1), 61_250]);
  });

  it('gives a reader a slot only while half the window stays free after it', () => {
    const nine = Array.from({ length: 9 }, (_, index) => 100 + index);
    const tenth = decideGrant(nine, 500, 'reader', RULES);
    expect(tenth.granted).toBe(true);
    // With ten used, a reader would leave nine free: it waits until the oldest leaves.
    const ten = [...nine, 500];
    expect(decideGrant(ten, 600, 'reader', RULES)).toEqual({ granted: false, retryAt: 100 + 60_250 });
    // A halt still finds room.
    expect(decideGrant(ten, 600, 'halt', RULES).granted).toBe(true);
  });

  it('makes a reader wait for as many grants to leave as it needs to keep half free', () => {
    const fifteen = Array.from({ length: 15 }, (_, index) => 1_000 * (index + 1));
    // Six must leave for the reader's grant to be the tenth: the sixth oldest is at 6 000.
    expect(decideGrant(fifteen, 20_000, 'reader', RULES)).toEqual({
      granted: false,
      retryAt: 6_000 + 60_250,
    });
  });

  it('forgets grants older than the window (and margin), whatever order they were stored in', () => {
    expect(pruneGrants([70_000, 5_000, 9_750, 10_000], 70_000, RULES)).toEqual([10_000, 70_000]);
  });

  it('refuses a limit too small to halve', () => {
    expect(() => decideGrant([], 0, 'halt', { limit: 1, spacingMs: 1_000 })).toThrow(RangeError);
  });

  it('never lets more than the limit into any window, nor a reader past half, and names a retry time that works', () => {
    const request = fc.record({
      gap: fc.integer({ min: 0, max: 9_000 }),
      budgetClass: fc.constantFrom<BudgetClass>('halt', 'reader'),
    });
    fc.assert(
      fc.property(
        fc.integer({ min: 2, max: 25 }),
        fc.integer({ min: 1_000, max: 60_000 }),
        fc.array(request, { minLength: 1, maxLength: 150 }),
        (limit, spacingMs, requests) => {
          const rules = { limit, spacingMs };
          let stored: readonly number[] = [];
          const sent: number[] = [];
          let now = 0;
          for (const { gap, budgetClass } of requests) {
            now += gap;
            const decision = decideGrant(stored, now, budgetClass, rules);
            const inWindow = sent.filter((at) => at + spacingMs > now).length;
            if (!decision.granted) {
              // No earlier moment would have done: the window is full for this class now, and it is
              // not full at the named time.
              expect(decision.retryAt).toBeGreaterThan(now);
              const retried = decideGrant(stored, decision.retryAt, budgetClass, rules);
              expect(retried.granted).toBe(true);
              const justBefore = decideGrant(stored, decision.retryAt - 1, budgetClass, rules);
              expect(justBefore.granted).toBe(false);
              continue;
            }
            if (budgetClass === 'reader') {
              // At least half the window is still free after a reader's grant.
              expect(limit - (inWindow + 1)).toBeGreaterThanOrEqual(limit / 2);
            }
            sent.push(now);
            stored = decision.grants;
            // Never more than the limit in the window that ends at any grant.
            expect(sent.filter((at) => at + spacingMs > now).length).toBeLessThanOrEqual(limit);
          }
        },
      ),
      { numRuns: 500 },
    );
  });
});
