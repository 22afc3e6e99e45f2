/**
 * The halt rule, over the whole invocation flow (`handleWatchdogEvent`) with a recording fake
 * `RolloutPort` that says every rollout is in progress: whatever the event and the config, the halts
 * requested are a subset of what the rule allows, namely only a transition into ALARM of an alarm a
 * listed app names, or a manual event with exactly `"dryRun": false` for a listed app, and never for an
 * app in dry run or under the global `DRY_RUN`. A rejected event makes no Store call and publishes
 * nothing. Pure: no network, so 10,000 cases take seconds.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  indexAppsByAlarm,
  parseEnvironment,
  type WatchdogEnvironment,
} from '../../functions/commons/config/env.ts';
import type { FlightSelection, RolloutLookup, RolloutPort } from '../../functions/commons/domain/ports.ts';
import { BadInputError } from '../../functions/commons/errors.ts';
import type { PackageRollout } from '../../functions/commons/store/model.ts';
import { handleWatchdogEvent, type WatchdogPorts } from '../../functions/halt-rollout/watchdog.ts';
import { loadEventFixture } from '../fixtures/events/load.ts';
import { anyJson, asyncOutcomeOf, isClearError, mutatedFrom, NUM_RUNS, smallJson } from './arbitraries.ts';

const APP_IDS = ['9NBLGGH4R315', '9NBLGGH29DM8', 'CFQ7TTC0KHS0', '9WZDNCRFJ3TJ'] as const;
const NOT_LISTED_IDS = ['ZZZZZZZZZZZZ', '9nblggh4r315', '../9NBLGGH4R3', ''] as const;
const ALARMS = ['photos-crash-rate', 'notes-crash-rate', 'shared-crash-rate', 'quiet-alarm'] as const;
const NOT_LISTED_ALARMS = ['someone-elses-alarm', 'PHOTOS-CRASH-RATE', 'photos-crash-rate '] as const;
const STATES = ['ALARM', 'OK', 'INSUFFICIENT_DATA'] as const;
const FLIGHT_A = '43e448df-97c9-4a43-a0bc-2a445e736bcd';
const FLIGHT_B = '7bfc11d5-f710-47c5-8a67-5a5f0ea1b6f9';
/** The one flight the fake reports for an app that watches `"all"`. */
const FLIGHT_OF_ALL = 'a1b2c3d4-0000-4000-8000-00000000a11f';

const IN_PROGRESS: PackageRollout = {
  isPackageRollout: true,
  packageRolloutPercentage: 20,
  packageRolloutStatus: 'PackageRolloutInProgress',
  fallbackSubmissionId: '1152921504621086517',
};

// Configs: one to four listed apps, each with some alarms, flights and a mode, and the global DRY_RUN.
// An alarm is either halting or notify-only for one app (notify-only alarms never halt).
const appArbitrary = fc
  .record({
    alarmNames: fc.subarray([...ALARMS]),
    notifyAlarmNames: fc.subarray([...ALARMS]),
    flights: fc.constantFrom(undefined, 'all', [FLIGHT_A], [FLIGHT_A, FLIGHT_B]),
    mode: fc.constantFrom('enforce', 'enforce', 'dry-run'),
  })
  .map((app) => ({
    ...app,
    notifyAlarmNames: app.notifyAlarmNames.filter((name) => !app.alarmNames.includes(name)),
  }));
const configs: fc.Arbitrary<WatchdogEnvironment> = fc
  .record({
    apps: fc.array(appArbitrary, { minLength: 1, maxLength: APP_IDS.length }),
    dryRun: fc.constantFrom(false, false, false, true),
  })
  .map(({ apps, dryRun }) =>
    parseEnvironment({
      STORE_CREDENTIALS_SECRET_ID: 'store-credentials',
      NOTIFICATION_TOPIC_ARN: 'arn:aws:sns:us-east-1:123456789012:watchdog',
      WATCHDOG_APPS: JSON.stringify(apps.map((app, index) => ({ applicationId: APP_IDS[index], ...app }))),
      DRY_RUN: String(dryRun),
    }),
  );

// Events: well-formed ones built from the fixtures, then the same mutated, then anything at all.
const transition = fc.record({
  alarmName: fc.constantFrom(...ALARMS, ...NOT_LISTED_ALARMS),
  newState: fc.constantFrom(...STATES),
  oldState: fc.constantFrom(...STATES),
});

/** Read once: the builders below copy from them. */
const SNS_TEMPLATE = loadEventFixture('sns-alarm');
const EVENTBRIDGE_TEMPLATE = loadEventFixture('eventbridge-alarm');

function snsEvent(transitions: readonly Transition[]): unknown {
  const template = SNS_TEMPLATE;
  if (!isRecord(template) || !Array.isArray(template.Records) || !isRecord(template.Records[0]))
    return template;
  const record = template.Records[0];
  const sns = isRecord(record.Sns) ? record.Sns : {};
  const message: unknown = typeof sns.Message === 'string' ? JSON.parse(sns.Message) : {};
  return {
    Records: transitions.map(({ alarmName, newState, oldState }) => ({
      ...record,
      Sns: {
        ...sns,
        Message: JSON.stringify({
          ...(isRecord(message) ? message : {}),
          AlarmName: alarmName,
          NewStateValue: newState,
          OldStateValue: oldState,
        }),
      },
    })),
  };
}

interface Transition {
  readonly alarmName: string;
  readonly newState: string;
  readonly oldState: string;
}

function eventBridgeEvent({ alarmName, newState, oldState }: Transition): unknown {
  const template = EVENTBRIDGE_TEMPLATE;
  if (!isRecord(template) || !isRecord(template.detail)) return template;
  const detail = template.detail;
  const state = isRecord(detail.state) ? detail.state : {};
  const previous = isRecord(detail.previousState) ? detail.previousState : {};
  return {
    ...template,
    detail: {
      ...detail,
      alarmName,
      state: { ...state, value: newState },
      previousState: { ...previous, value: oldState },
    },
  };
}

const manualEvent = fc.record(
  {
    applicationId: fc.constantFrom(...APP_IDS, ...NOT_LISTED_IDS),
    reason: fc.string({ maxLength: 20 }),
    dryRun: fc.oneof(
      { weight: 3, arbitrary: fc.constant(false) },
      { weight: 2, arbitrary: fc.constantFrom(true, 'false', 0, null, 'no', [], {}) },
      { weight: 1, arbitrary: smallJson },
    ),
  },
  { requiredKeys: ['applicationId'] },
);

const wellFormedEvents = fc.oneof(
  fc.array(transition, { minLength: 1, maxLength: 3 }).map(snsEvent),
  transition.map(eventBridgeEvent),
  manualEvent,
);
const events = fc.oneof(
  { weight: 4, arbitrary: wellFormedEvents },
  { weight: 3, arbitrary: wellFormedEvents.chain((event) => mutatedFrom(event)) },
  { weight: 1, arbitrary: anyJson },
);

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The names of the alarms the event says went into ALARM, read leniently from either delivery shape. */
function alarmsIntoAlarm(event: Record<string, unknown>): Set<string> {
  const names = new Set<string>();
  if (Array.isArray(event.Records)) {
    for (const record of event.Records) {
      const message = isRecord(record) && isRecord(record.Sns) ? record.Sns.Message : undefined;
      if (typeof message !== 'string') continue;
      let parsed: unknown;
      try {
        parsed = JSON.parse(message);
      } catch {
        continue;
      }
      if (isRecord(parsed) && parsed.NewStateValue === 'ALARM' && typeof parsed.AlarmName === 'string') {
        names.add(parsed.AlarmName);
      }
    }
  }
  const detail = event.detail;
  if (isRecord(detail) && isRecord(detail.state) && detail.state.value === 'ALARM') {
    if (typeof detail.alarmName === 'string') names.add(detail.alarmName);
  }
  return names;
}

/**
 * What the rule allows, worked out from the raw event independently of the code under test: the
 * rollouts (`app/flight`) of the enforcing listed apps that the event asks to halt.
 */
function allowedHalts(event: unknown, config: WatchdogEnvironment): Set<string> {
  const allowed = new Set<string>();
  if (config.dryRun || !isRecord(event)) return allowed;
  const inAlarm = alarmsIntoAlarm(event);
  for (const app of config.apps) {
    if (app.mode !== 'enforce') continue;
    const manual = event.applicationId === app.applicationId && event.dryRun === false;
    const alarmed = app.alarmNames.some((name) => inAlarm.has(name));
    if (manual || alarmed)
      for (const rollout of rolloutsOf(app.applicationId, app.flights)) allowed.add(rollout);
  }
  return allowed;
}

function rolloutsOf(applicationId: string, flights: FlightSelection): string[] {
  const flightIds = flights === undefined ? [] : flights === 'all' ? [FLIGHT_OF_ALL] : flights;
  return [`${applicationId}/main`, ...flightIds.map((flightId) => `${applicationId}/${flightId}`)];
}

interface Recording {
  readonly ports: WatchdogPorts;
  readonly lookups: string[];
  readonly halts: string[];
  readonly published: number[];
}

/** A port where every rollout is in progress, recording what it is asked; a publisher that counts. */
function recordingPorts(): Recording {
  const lookups: string[] = [];
  const halts: string[] = [];
  const published: number[] = [];
  const rollouts: RolloutPort = {
    async findLiveRollouts({ applicationId, flights }) {
      lookups.push(applicationId);
      return rolloutsOf(applicationId, flights).map((key, index): RolloutLookup => {
        const flightId = key.slice(applicationId.length + 1);
        const submissionId = String(1152921504621243680n + BigInt(index));
        return {
          state: 'in-progress',
          ref:
            flightId === 'main' ? { applicationId, submissionId } : { applicationId, flightId, submissionId },
          rollout: IN_PROGRESS,
        };
      });
    },
    async haltRollout(found) {
      halts.push(`${found.ref.applicationId}/${found.ref.flightId ?? 'main'}`);
      return {
        result: 'halted',
        ref: found.ref,
        rollout: { ...found.rollout, packageRolloutStatus: 'PackageRolloutStopped' },
      };
    },
  };
  const quiet = () => {};
  const ports: WatchdogPorts = {
    rollouts,
    publish: async () => {
      published.push(1);
    },
    now: () => 0,
    logger: { info: quiet, warn: quiet, error: quiet },
  };
  return { ports, lookups, halts, published };
}

function budget() {
  const never = new AbortController().signal;
  return { decideSignal: never, notifySignal: never };
}

async function run(event: unknown, config: WatchdogEnvironment) {
  const recording = recordingPorts();
  const outcome = await asyncOutcomeOf(() => handleWatchdogEvent(event, config, recording.ports, budget()));
  return { outcome, ...recording };
}

describe('the halt rule over handleWatchdogEvent, property-based', () => {
  it('requests only halts the rule allows, whatever the event and config; rejected events touch nothing', async () => {
    await fc.assert(
      fc.asyncProperty(events, configs, async (event, config) => {
        const { outcome, lookups, halts, published } = await run(event, config);

        const allowed = allowedHalts(event, config);
        for (const halt of halts) expect(allowed).toContain(halt);
        expect(new Set(halts).size).toBe(halts.length);
        if (outcome.ok) {
          const acted = outcome.value.ignored === undefined;
          expect(acted).toBe(outcome.value.targets.length > 0);
          expect(published).toHaveLength(acted ? 1 : 0);
          if (!acted) expect(lookups).toEqual([]);
        } else {
          // Rejected: clearly, and before any Store call or notification.
          expect(isClearError(outcome.error, BadInputError)).toBe(true);
          expect(lookups).toEqual([]);
          expect(halts).toEqual([]);
          expect(published).toEqual([]);
        }
      }),
      { numRuns: NUM_RUNS },
    );
  });

  it('requests exactly the halts the rule allows for well-formed events', async () => {
    await fc.assert(
      fc.asyncProperty(wellFormedEvents, configs, async (event, config) => {
        const { halts } = await run(event, config);

        expect(new Set(halts)).toEqual(allowedHalts(event, config));
      }),
      { numRuns: NUM_RUNS },
    );
  });

  it('never halts under the global DRY_RUN or for an app in dry run', async () => {
    const dryConfigs = configs.map((config) => {
      const apps = config.apps.map((app) => ({ ...app, mode: 'dry-run' as const }));
      return { ...config, apps, alarmIndex: indexAppsByAlarm(apps) };
    });
    const globallyDry = configs.map((config) => ({ ...config, dryRun: true }));
    await fc.assert(
      fc.asyncProperty(events, fc.oneof(dryConfigs, globallyDry), async (event, config) => {
        const { halts } = await run(event, config);

        expect(halts).toEqual([]);
      }),
      { numRuns: NUM_RUNS },
    );
  });
});
