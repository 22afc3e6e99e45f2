import { describe, expect, it } from 'vitest';
import {
  assertApplicationId,
  assertFlightId,
  assertSubmissionId,
} from '../../../../functions/commons/domain/ids.ts';
import { BadInputError } from '../../../../functions/commons/errors.ts';

describe('Store ID validation', () => {
  it('accepts well-formed IDs and returns them unchanged', () => {
    expect(assertApplicationId('9NBLGGH4R315')).toBe('9NBLGGH4R315');
    expect(assertSubmissionId('1152921504621243680')).toBe('1152921504621243680');
    expect(assertFlightId('43e448df-97c9-4a43-a0bc-2a445e736bcd')).toBe(
      '43e448df-97c9-4a43-a0bc-2a445e736bcd',
    );
  });

  it.each([
    ['lower case', '9nblggh4r315'],
    ['too short', '9NBLGGH4R31'],
    ['path injection', '9NBLGGH4R31/'],
    ['traversal', '../../../etc'],
    ['query injection', '9NBLGGH4R315?x'],
    ['empty', ''],
  ])('rejects an application ID that is %s', (_label, value) => {
    expect(() => assertApplicationId(value)).toThrow(BadInputError);
  });

  it('rejects submission IDs that are not digits, including numbers (precision is lost above 2^53)', () => {
    expect(() => assertSubmissionId('1152921504621243680/haltpackagerollout')).toThrow(
      /submissionId must be/,
    );
    expect(() => assertSubmissionId(1152921504621243)).toThrow(/got number/);
    expect(() => assertSubmissionId('-1')).toThrow(BadInputError);
  });

  it('rejects flight IDs that are not GUIDs', () => {
    expect(() => assertFlightId('43e448df-97c9-4a43-a0bc-2a445e736bc')).toThrow(/flightId must be a GUID/);
    expect(() => assertFlightId('43e448df-97c9-4a43-a0bc-2a445e736bcd/x')).toThrow(BadInputError);
  });
});
