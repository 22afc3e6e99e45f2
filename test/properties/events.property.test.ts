/**
 * `parseEvent` over arbitrary JSON and mutated real events (the fixtures): it accepts a well-formed
 * intake or rejects with a clear `BadInputError`; it never throws anything else, and its messages never
 * echo a value from the event (only field names, and a malformed `applicationId`, shortened).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ALARM_STATES, type Intake, parseEvent } from '../../functions/commons/domain/events.ts';
import { APPLICATION_ID_PATTERN } from '../../functions/commons/domain/ids.ts';
import { BadInputError } from '../../functions/commons/errors.ts';
import { EVENT_FIXTURES, type EventFixtureName, loadEventFixture } from '../fixtures/events/load.ts';
import {
  anyJson,
  isClearError,
  type Mutation,
  mutate,
  mutatedFrom,
  mutationArbitrary,
  NUM_RUNS,
  outcomeOf,
  secretLike,
  smallJson,
} from './arbitraries.ts';

const EVENT_ERROR_CODES = ['UNRECOGNIZED_EVENT', 'INVALID_EVENT', 'UNPARSEABLE_SNS_MESSAGE', 'INVALID_ID'];

const fixtures = new Map<EventFixtureName, unknown>(
  EVENT_FIXTURES.map((name) => [name, loadEventFixture(name)]),
);
const fixture = fc.constantFrom(...EVENT_FIXTURES).map((name) => fixtures.get(name));
const snsFixture = fc.constantFrom('sns-alarm', 'sns-alarm-ok').map((name) => fixtures.get(name));

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The first record's `Sns.Message` parsed, mutated and put back (the message is a JSON string). */
function withInnerMutations(event: unknown, mutations: readonly Mutation[], raw?: string): unknown {
  if (!isRecord(event) || !Array.isArray(event.Records)) return event;
  const [record, ...rest] = event.Records;
  if (!isRecord(record) || !isRecord(record.Sns) || typeof record.Sns.Message !== 'string') return event;
  const message = raw ?? JSON.stringify(mutate(JSON.parse(record.Sns.Message), mutations)) ?? 'undefined';
  return { ...event, Records: [{ ...record, Sns: { ...record.Sns, Message: message } }, ...rest] };
}

const innerMutated = fc
  .tuple(snsFixture, fc.array(mutationArbitrary, { minLength: 1, maxLength: 4 }))
  .map(([event, mutations]) => withInnerMutations(event, mutations));
const innerNotJson = fc
  .tuple(snsFixture, fc.string({ maxLength: 40 }))
  .map(([event, text]) => withInnerMutations(event, [], text));
const manualish = fc.record(
  {
    applicationId: fc.oneof(fc.stringMatching(APPLICATION_ID_PATTERN), smallJson),
    reason: fc.oneof(fc.string({ maxLength: 30 }), smallJson),
    dryRun: smallJson,
  },
  { requiredKeys: [] },
);

const anyEvent = fc.oneof(
  { weight: 2, arbitrary: anyJson },
  { weight: 4, arbitrary: fixture.chain((event) => mutatedFrom(event)) },
  { weight: 3, arbitrary: innerMutated },
  { weight: 1, arbitrary: innerNotJson },
  { weight: 2, arbitrary: manualish },
  { weight: 1, arbitrary: fixture },
);

/** What an accepted event must look like, whatever it was. */
function expectWellFormed(event: unknown, intake: Intake): void {
  if (intake.kind === 'manual') {
    expect(intake.applicationId).toMatch(APPLICATION_ID_PATTERN);
    // Only exactly `false` enforces.
    expect(intake.enforce).toBe(isRecord(event) && event.dryRun === false);
    return;
  }
  expect(intake.alarms.length).toBeGreaterThan(0);
  if (isRecord(event) && Array.isArray(event.Records))
    expect(intake.alarms).toHaveLength(event.Records.length);
  for (const alarm of intake.alarms) {
    expect(alarm.alarmName.length).toBeGreaterThan(0);
    expect(ALARM_STATES).toContain(alarm.newState);
    if (alarm.previousState !== undefined) expect(ALARM_STATES).toContain(alarm.previousState);
  }
}

describe('parseEvent, property-based', () => {
  it('accepts a well-formed intake or rejects with a clear BadInputError, for arbitrary and mutated events', () => {
    fc.assert(
      fc.property(anyEvent, (event) => {
        const outcome = outcomeOf(() => parseEvent(event));
        if (outcome.ok) {
          expectWellFormed(event, outcome.value);
        } else {
          expect(isClearError(outcome.error, BadInputError)).toBe(true);
          expect(EVENT_ERROR_CODES).toContain(
            outcome.error instanceof BadInputError ? outcome.error.code : '',
          );
        }
      }),
      { numRuns: NUM_RUNS },
    );
  });

  it('never echoes a value from the event in its error, wherever the value sits', () => {
    const withSecret = fc
      .tuple(fixture, fc.array(mutationArbitrary, { maxLength: 3 }), fc.nat(), secretLike, fc.boolean())
      .map(([event, mutations, at, secret, inside]) => {
        const plant: Mutation = { op: 'replace', at, value: secret, text: '' };
        const planted = inside
          ? withInnerMutations(event, [...mutations, plant])
          : mutate(event, [...mutations, plant]);
        return { event: planted, secret };
      });
    fc.assert(
      fc.property(withSecret, ({ event, secret }) => {
        const outcome = outcomeOf(() => parseEvent(event));
        // A malformed applicationId is quoted (shortened) on purpose: it is an ID, not a secret.
        const quotedOnPurpose = isRecord(event) && event.applicationId === secret;
        if (!outcome.ok && !quotedOnPurpose) {
          expect(outcome.error instanceof Error ? outcome.error.message : '').not.toContain(secret);
        }
      }),
      { numRuns: NUM_RUNS },
    );
  });

  it('rejects a manual event whose applicationId carries path characters, before anything else', () => {
    const injected = fc
      .tuple(
        fc.stringMatching(APPLICATION_ID_PATTERN),
        fc.constantFrom('../', '/', '%2F', '?', '#', '\\', ' '),
      )
      .map(([id, text]) => ({ applicationId: `${id.slice(0, 6)}${text}${id.slice(6)}`, dryRun: false }));
    fc.assert(
      fc.property(injected, (event) => {
        const outcome = outcomeOf(() => parseEvent(event));
        expect(outcome.ok).toBe(false);
        expect(outcome.ok ? '' : outcome.error instanceof BadInputError && outcome.error.code).toBe(
          'INVALID_ID',
        );
      }),
      { numRuns: NUM_RUNS },
    );
  });
});
