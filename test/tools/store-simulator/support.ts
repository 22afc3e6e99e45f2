/**
 * Helpers for the simulator's own tests: start one per test, get a token, call the Store API with
 * real HTTP (fetch).
 */
import { afterEach } from 'vitest';
import type { z } from 'zod';
import { definedProps } from '../../../functions/commons/optional.ts';
import { start } from '../../../tools/store-simulator/index.ts';
import { SAMPLE_TENANT, sampleState } from '../../../tools/store-simulator/sample-state.ts';
import type {
  RunningSimulator,
  SimTenant,
  SimulatorOptions,
  SimulatorState,
} from '../../../tools/store-simulator/types.ts';

export const STORE_RESOURCE = 'https://manage.devcenter.microsoft.com';

const running: RunningSimulator[] = [];

afterEach(async () => {
  await Promise.all(running.splice(0).map((simulator) => simulator.close()));
});

/** Starts a simulator (closed after the test) with the sample state unless told otherwise. */
export async function startSimulator(
  options: Partial<SimulatorOptions> & { readonly state?: SimulatorState } = {},
): Promise<RunningSimulator> {
  const simulator = await start({ ...options, state: options.state ?? sampleState() });
  running.push(simulator);
  return simulator;
}

export interface JsonResponse {
  readonly status: number;
  readonly headers: Headers;
  readonly body: unknown;
}

async function readJson(response: Response): Promise<JsonResponse> {
  const text = await response.text();
  return {
    status: response.status,
    headers: response.headers,
    body: text === '' ? undefined : JSON.parse(text),
  };
}

/** POSTs a token request form; `fields` replaces the defaults (use `undefined` to drop one). */
export async function requestToken(
  simulator: RunningSimulator,
  fields: Readonly<Record<string, string | undefined>> = {},
  tenantId: string = SAMPLE_TENANT.tenantId,
): Promise<JsonResponse> {
  const form = new URLSearchParams();
  const merged: Record<string, string | undefined> = {
    grant_type: 'client_credentials',
    client_id: SAMPLE_TENANT.clientId,
    client_secret: SAMPLE_TENANT.clientSecret,
    resource: STORE_RESOURCE,
    ...fields,
  };
  for (const [name, value] of Object.entries(merged)) if (value !== undefined) form.set(name, value);
  const response = await fetch(`${simulator.authority}/${tenantId}/oauth2/token`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded; charset=utf-8' },
    body: form.toString(),
  });
  return readJson(response);
}

/** A valid access token for `tenant` (the sample tenant by default). */
export async function getToken(
  simulator: RunningSimulator,
  tenant: SimTenant = SAMPLE_TENANT,
): Promise<string> {
  const response = await requestToken(
    simulator,
    { client_id: tenant.clientId, client_secret: tenant.clientSecret },
    tenant.tenantId,
  );
  const body = response.body;
  if (response.status !== 200 || typeof body !== 'object' || body === null || !('access_token' in body)) {
    throw new Error(`token request failed: HTTP ${response.status}`);
  }
  const token = body.access_token;
  if (typeof token !== 'string') throw new Error('token request returned no access_token');
  return token;
}

/** Calls the Store API at `path` (relative to `/v1.0/my/`) with a bearer token, or none. */
export async function callStore(
  simulator: RunningSimulator,
  method: 'GET' | 'POST',
  path: string,
  token: string | undefined,
  init: { readonly signal?: AbortSignal } = {},
): Promise<JsonResponse> {
  const response = await fetch(`${simulator.storeBaseUrl}${path}`, {
    method,
    headers: token === undefined ? {} : { Authorization: `Bearer ${token}` },
    ...definedProps({ signal: init.signal }),
  });
  return readJson(response);
}

/** The body of a response, checked against `schema` (throws with the zod issues otherwise). */
export function parseBody<T extends z.ZodType>(response: JsonResponse, schema: T): z.infer<T> {
  return schema.parse(response.body);
}
