/**
 * The benchmark's rig: the Store simulator and the AWS stand-in on loopback in the bench process, holding
 * the apps of one phase.
 */

import {
  BENCH_SECRET,
  type BenchApp,
  createBenchState,
  createHandlerEnvironment,
} from '../fixtures/watchdog-apps.ts';
import { start } from '../store-simulator/index.ts';
import type { RecordedRequest, RunningSimulator } from '../store-simulator/types.ts';
import { type AwsRequestRecord, type RunningAwsStandIn, startAwsStandIn } from './aws-stand-in.ts';
import type { RequestInterval } from './intervals.ts';

export interface Rig {
  readonly simulator: RunningSimulator;
  readonly aws: RunningAwsStandIn;
  /** The handler's environment for these apps (only the apps it is given are watched). */
  environmentFor(apps: readonly BenchApp[]): Record<string, string>;
  /** Sets the injected latency of every answer: Store, token endpoint, Secrets Manager and SNS alike. */
  setLatency(ms: number): void;
  clearRecords(): void;
  /** What was received since the last clear, by kind: the round trips on the way to a halt. */
  readonly records: {
    readonly store: readonly RecordedRequest[];
    readonly token: readonly RecordedRequest[];
    readonly secret: readonly AwsRequestRecord[];
    readonly publish: readonly AwsRequestRecord[];
  };
  close(): Promise<void>;
}

/** Starts the simulator (holding `apps`) and the AWS stand-in. */
export async function startRig(apps: readonly BenchApp[]): Promise<Rig> {
  const simulator = await start({ state: createBenchState(apps) });
  const aws = await startAwsStandIn({ secret: BENCH_SECRET });
  return {
    simulator,
    aws,
    environmentFor: (watched) =>
      createHandlerEnvironment({
        apps: watched,
        storeBaseUrl: simulator.storeBaseUrl,
        authority: simulator.authority,
        awsEndpoint: aws.url,
      }),
    setLatency(ms) {
      simulator.control.setLatency(ms);
      aws.setLatency(ms);
    },
    clearRecords() {
      simulator.control.clearRequests();
      aws.clearRecords();
    },
    get records() {
      const requests = simulator.control.requests;
      const awsRequests = aws.requests;
      return {
        store: requests.filter((request) => request.kind === 'store'),
        token: requests.filter((request) => request.kind === 'token'),
        secret: awsRequests.filter((request) => request.kind === 'secret'),
        publish: awsRequests.filter((request) => request.kind === 'publish'),
      };
    },
    async close() {
      await Promise.all([simulator.close(), aws.close()]);
    },
  };
}

/** The requests on the way to a halt (secret, token, Store; not the notification), as intervals. */
export function haltPathIntervals(records: Rig['records']): RequestInterval[] {
  return [...records.secret, ...records.token, ...records.store].map((record) => ({
    startedAt: record.startedAt,
    endedAt: record.endedAt,
  }));
}
