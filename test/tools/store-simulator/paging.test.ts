import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { app, SAMPLE_TENANT, stateWith, submission } from '../../../tools/store-simulator/sample-state.ts';
import { callStore, getToken, parseBody, startSimulator } from './support.ts';

const pageSchema = z.object({
  value: z.array(z.object({ id: z.string() })),
  '@nextLink': z.string().optional(),
  totalCount: z.number(),
});

/** 23 apps, like the "21 total apps" example of get-all-apps.md. */
function manyApps() {
  return stateWith(
    ...Array.from({ length: 23 }, (_unused, index) =>
      app(`9NBLGGH${String(index).padStart(5, '0')}`, [submission(String(1000 + index), 'Published')]),
    ),
  );
}

describe('Store simulator: get all apps', () => {
  it('returns the first 10 apps without parameters, with @nextLink and totalCount', async () => {
    const simulator = await startSimulator({ state: manyApps() });
    const page = parseBody(
      await callStore(simulator, 'GET', 'applications', await getToken(simulator)),
      pageSchema,
    );

    expect(page.value).toHaveLength(10);
    expect(page['@nextLink']).toBe('applications?skip=10&top=10');
    expect(page.totalCount).toBe(23);
  });

  it('follows @nextLink until it is absent and sees every app once', async () => {
    const simulator = await startSimulator({ state: manyApps() });
    const token = await getToken(simulator);
    const seen: string[] = [];
    let next: string | undefined = 'applications?top=7';

    while (next !== undefined) {
      const page: z.infer<typeof pageSchema> = parseBody(
        await callStore(simulator, 'GET', next, token),
        pageSchema,
      );
      seen.push(...page.value.map((item) => item.id));
      next = page['@nextLink'];
    }

    expect(seen).toEqual(manyApps().apps.map((item) => item.id));
  });

  it('returns every app at once when top covers them', async () => {
    const simulator = await startSimulator({ state: manyApps() });
    const page = parseBody(
      await callStore(simulator, 'GET', 'applications?top=23', await getToken(simulator)),
      pageSchema,
    );
    expect(page.value).toHaveLength(23);
    expect(page).not.toHaveProperty('@nextLink');
  });

  it.each(['top=0', 'top=-1', 'top=abc', 'skip=-3', 'skip=1.5'])('answers 400 to %s', async (query) => {
    const simulator = await startSimulator({ state: manyApps() });
    const response = await callStore(simulator, 'GET', `applications?${query}`, await getToken(simulator));
    expect(response.status).toBe(400);
    expect(response.body).toMatchObject({ code: 'InvalidParameterValue' });
  });

  it('answers 404 when the tenant has no apps', async () => {
    const simulator = await startSimulator({ state: { tenants: [SAMPLE_TENANT], apps: [] } });
    const response = await callStore(simulator, 'GET', 'applications', await getToken(simulator));
    expect(response.status).toBe(404);
    expect(response.body).toMatchObject({ code: 'ResourceNotFound', message: 'No apps were found.' });
  });
});
