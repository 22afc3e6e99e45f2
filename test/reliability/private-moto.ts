/**
 * A moto server of this test file's own, for the one fault the suite's shared moto cannot show: IAM
 * denying the function access to its secret. moto evaluates IAM policies only when told to, and only for
 * the whole server (`/moto-api/reset-auth`), which would break every other test file talking to the
 * shared server at the same time.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { freePort } from '../../tools/aws/moto.ts';
import type { AwsCredentials } from '../support/watchdog-harness.ts';

export interface PrivateMoto {
  readonly endpoint: string;
  /** Creates an IAM user allowed exactly `actions` (on every resource) and returns its access key. */
  createUser(name: string, actions: readonly string[]): Promise<AwsCredentials>;
  /** Replaces the user's only policy (IAM is briefly not enforced while it changes). */
  allow(name: string, actions: readonly string[]): Promise<void>;
  /** From now on every request is signed-checked and authorized against IAM. */
  enforceIam(): Promise<void>;
  close(): Promise<void>;
}

async function waitUntilReady(endpoint: string, child: ChildProcess): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`moto_server exited early with code ${child.exitCode}`);
    try {
      if ((await fetch(`${endpoint}/moto-api/`)).ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`moto_server did not answer on ${endpoint}`);
}

/** Starts a private moto server on a free loopback port. */
export async function startPrivateMoto(): Promise<PrivateMoto> {
  const port = await freePort();
  const child = spawn('moto_server', ['-H', '127.0.0.1', '-p', String(port)], { stdio: 'ignore' });
  const endpoint = `http://127.0.0.1:${port}`;
  await waitUntilReady(endpoint, child);

  const setAuth = async (count: string) => {
    const response = await fetch(`${endpoint}/moto-api/reset-auth`, { method: 'POST', body: count });
    if (!response.ok) throw new Error(`moto reset-auth answered ${response.status}`);
  };
  // IAM's query API, unsigned: only ever called while IAM is not enforced. The Authorization header
  // only tells moto which service is meant.
  const callIam = async (params: Record<string, string>): Promise<string> => {
    const response = await fetch(`${endpoint}/`, {
      method: 'POST',
      body: new URLSearchParams({ ...params, Version: '2010-05-08' }),
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        authorization:
          'AWS4-HMAC-SHA256 Credential=testing/20240101/us-east-1/iam/aws4_request, SignedHeaders=host, Signature=0',
      },
    });
    const text = await response.text();
    if (!response.ok) throw new Error(`IAM ${params.Action} answered ${response.status}`);
    return text;
  };
  const putPolicy = (name: string, actions: readonly string[]) =>
    callIam({
      Action: 'PutUserPolicy',
      UserName: name,
      PolicyName: 'watchdog-test',
      PolicyDocument: JSON.stringify({
        Version: '2012-10-17',
        Statement: [{ Effect: 'Allow', Action: actions, Resource: '*' }],
      }),
    });
  let enforced = false;

  return {
    endpoint,
    async createUser(name, actions) {
      await callIam({ Action: 'CreateUser', UserName: name });
      await putPolicy(name, actions);
      const key = await callIam({ Action: 'CreateAccessKey', UserName: name });
      const accessKeyId = /<AccessKeyId>([^<]+)</.exec(key)?.[1];
      const secretAccessKey = /<SecretAccessKey>([^<]+)</.exec(key)?.[1];
      if (accessKeyId === undefined || secretAccessKey === undefined) throw new Error('no access key');
      return { accessKeyId, secretAccessKey };
    },
    async allow(name, actions) {
      if (enforced) await setAuth('inf');
      await putPolicy(name, actions);
      if (enforced) await setAuth('0');
    },
    async enforceIam() {
      await setAuth('0');
      enforced = true;
    },
    async close() {
      child.kill('SIGTERM');
      await new Promise((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) resolve(undefined);
        else child.once('exit', resolve);
      });
    },
  };
}
