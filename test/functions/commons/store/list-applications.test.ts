/**
 * `StoreClient.listApplications` against the Store simulator: `GET applications?top=100`, following
 * `@nextLink` page by page until it is absent (get-all-apps.md), every app once; an account without
 * apps (404) is an empty list; a failed page is retried like any GET.
 */
import { describe, expect, it } from 'vitest';
import { app, stateWith, submission } from '../../../../tools/store-simulator/sample-state.ts';
import { connect, roomySignal, startSimulator } from './support.ts';

function catalog(count: number) {
  return stateWith(
    ...Array.from({ length: count }, (_unused, index) =>
      app(`9NLIST${String(index).padStart(6, '0')}`, [submission(String(5000 + index), 'Published')]),
    ),
  );
}

function listCalls(simulator: Awaited<ReturnType<typeof startSimulator>>) {
  return simulator.control.requests
    .filter((request) => request.path === '/v1.0/my/applications')
    .map((request) => ({ query: request.query, status: request.status }));
}

describe('listApplications', () => {
  it('reads 230 apps in pages of 100, following @nextLink, each app once', async () => {
    const simulator = await startSimulator({ state: catalog(230) });
    const apps = await connect(simulator).client.listApplications(roomySignal());

    expect(apps.map((item) => item.id)).toEqual(catalog(230).apps.map((item) => item.id));
    expect(apps[0]?.lastPublishedApplicationSubmission?.id).toBe('5000');
    expect(listCalls(simulator)).toEqual([
      { query: '?top=100&skip=0', status: 200 },
      { query: '?top=100&skip=100', status: 200 },
      { query: '?top=100&skip=200', status: 200 },
    ]);
  });

  it('an account without apps (404) has none', async () => {
    const simulator = await startSimulator({ state: stateWith() });
    await expect(connect(simulator).client.listApplications(roomySignal())).resolves.toEqual([]);
  });

  it('a page that fails with 503 is asked for again', async () => {
    const simulator = await startSimulator({ state: catalog(150) });
    simulator.control.failNext({ status: 503, match: { path: /\/applications$/ } });
    const apps = await connect(simulator).client.listApplications(roomySignal());
    expect(apps).toHaveLength(150);
    expect(listCalls(simulator).map((call) => call.status)).toEqual([503, 200, 200]);
  });
});
