/**
 * The probe's memory in the state table (functions/commons/aws/probe-memory.ts) on moto, the table
 * created as the synthesized template defines it: an app's memory round-trips, one Query reads them
 * all (past a page), an app no longer watched is dropped, items that do not describe an app are
 * ignored, and a table that cannot be used reads as "nothing remembered" with a warning.
 */
import { PutItemCommand } from '@aws-sdk/client-dynamodb';
import { describe, expect, it } from 'vitest';
import { createProbeMemory } from '../../../../functions/commons/aws/probe-memory.ts';
import type { AppMemory } from '../../../../functions/commons/domain/probe-memory.ts';
import { createStateTable, motoDynamo } from '../../../support/state-table.ts';

const NOON = Date.UTC(2026, 11, 7, 12, 0);

function memoryOf(applicationId: string): AppMemory {
  return {
    applicationId,
    main: { lastPublishedId: '11', state: 'watch', readAtMs: NOON },
    flights: {
      '43e448df-97c9-4a43-a0bc-2a445e736bcd': {
        lastPublishedId: '12',
        pendingId: '13',
        state: 'settled',
        readAtMs: NOON,
      },
    },
    flightsSlot: 493_000,
    cohorts: { 'main/11': ['2.0.0.0'], 'main/10': ['1.0.0.0'] },
    crashes: {
      slot: 493_001,
      versions: ['2.0.0.0', '1.0.0.0'],
      rows: [{ hourStartMs: NOON - 3_600_000, packageVersion: '2.0.0.0', deviceCount: 2.5 }],
      storeRows: 4,
    },
    usage: {
      readDayMs: NOON - 12 * 3_600_000,
      versions: ['2.0.0.0', '1.0.0.0'],
      rows: [{ dayStartMs: NOON - 36 * 3_600_000, packageVersion: '1.0.0.0', dailyActiveDevices: 4_000 }],
    },
  };
}

function recordingLogger() {
  const warnings: Array<{ message: string; attributes: Record<string, unknown> }> = [];
  return {
    warnings,
    warn: (message: string, attributes: Record<string, unknown>) => warnings.push({ message, attributes }),
  };
}

describe('probe memory', () => {
  it('remembers, reads back and drops apps', async () => {
    const dynamo = motoDynamo();
    const table = await createStateTable(dynamo);
    const memory = createProbeMemory(dynamo, table);
    const signal = AbortSignal.timeout(30_000);

    await memory.save(memoryOf('9NBLGGH4R315'), signal);
    await memory.save(memoryOf('9NBLGGH29DM8'), signal);
    const loaded = await memory.load(signal);
    expect(loaded.get('9NBLGGH4R315')).toEqual(memoryOf('9NBLGGH4R315'));
    expect([...loaded.keys()].sort()).toEqual(['9NBLGGH29DM8', '9NBLGGH4R315']);

    await memory.forget('9NBLGGH29DM8', signal);
    expect([...(await memory.load(signal)).keys()]).toEqual(['9NBLGGH4R315']);
  });

  it('reads a memory larger than one Query page', async () => {
    const dynamo = motoDynamo();
    const table = await createStateTable(dynamo);
    const memory = createProbeMemory(dynamo, table);
    const signal = AbortSignal.timeout(60_000);
    // About 4.5 KB an item: 400 items are more than the 1 MB a Query page holds.
    const padded = (index: number): AppMemory => ({
      ...memoryOf(`9NPAGE${String(index).padStart(6, '0')}`),
      cohorts: Object.fromEntries(Array.from({ length: 150 }, (_, n) => [`main/${n}`, [`${n}.0.0.0`]])),
    });
    await Promise.all(Array.from({ length: 400 }, (_, index) => memory.save(padded(index), signal)));
    const loaded = await memory.load(signal);
    expect(loaded.size).toBe(400);
  }, 60_000);

  it('ignores items that do not describe an app, with a warning', async () => {
    const dynamo = motoDynamo();
    const table = await createStateTable(dynamo);
    const logger = recordingLogger();
    const memory = createProbeMemory(dynamo, table, logger);
    const signal = AbortSignal.timeout(30_000);
    await memory.save(memoryOf('9NBLGGH4R315'), signal);
    const put = (sk: string, text: string) =>
      dynamo.send(
        new PutItemCommand({
          TableName: table,
          Item: { pk: { S: 'probe' }, sk: { S: sk }, memory: { S: text } },
        }),
      );
    await put('app#9NBLGGH29DM8', 'not json');
    await put('app#9NBLGGH29DM8X', JSON.stringify(memoryOf('9NBLGGH29DM8')));
    await put('app#9NBLGGH00000', JSON.stringify({ ...memoryOf('9NBLGGH00000'), main: { state: 'maybe' } }));

    const loaded = await memory.load(signal);
    expect([...loaded.keys()]).toEqual(['9NBLGGH4R315']);
    expect(logger.warnings).toEqual([
      {
        message: 'probe memory items ignored: they do not describe an app',
        attributes: { tableName: table, ignored: 3 },
      },
    ]);
  });

  it('a table that cannot be used reads as nothing remembered, and a failed write is only a warning', async () => {
    const logger = recordingLogger();
    const memory = createProbeMemory(motoDynamo(), 'no-such-table', logger);
    const signal = AbortSignal.timeout(30_000);
    expect((await memory.load(signal)).size).toBe(0);
    await memory.save(memoryOf('9NBLGGH4R315'), signal);
    expect(logger.warnings.map((warning) => warning.message)).toEqual([
      'probe memory not read; reading every app instead',
      'probe memory not written; the app is read again next run',
    ]);
  });
});
