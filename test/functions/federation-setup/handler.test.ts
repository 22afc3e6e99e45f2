/**
 * The stack's custom resource that switches outbound identity federation on, against the simulator's
 * stand-in of the account (IAM's two calls and STS, in the AWS Query protocol) and a loopback server in
 * the place of CloudFormation's presigned response URL.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { CloudFormationCustomResourceEvent } from 'aws-lambda';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { start } from '../../../tools/store-simulator/index.ts';
import { sampleState } from '../../../tools/store-simulator/sample-state.ts';
import type { RunningSimulator } from '../../../tools/store-simulator/types.ts';
import { lambdaContext } from '../../support/watchdog-harness.ts';

/** CloudFormation's side: what each PUT to the response URL carried. */
interface ResponseSink {
  readonly url: string;
  readonly bodies: unknown[];
  readonly contentTypes: (string | undefined)[];
  close(): Promise<void>;
}

async function startResponseSink(): Promise<ResponseSink> {
  const bodies: unknown[] = [];
  const contentTypes: (string | undefined)[] = [];
  const server: Server = createServer((req, res) => {
    let text = '';
    req.on('data', (chunk: Buffer) => {
      text += chunk.toString('utf8');
    });
    req.on('end', () => {
      bodies.push(req.method === 'PUT' ? JSON.parse(text) : { unexpectedMethod: req.method });
      contentTypes.push(req.headers['content-type']);
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = isAddressInfo(address) ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}/cloudformation-response?X-Amz-Signature=abc`,
    bodies,
    contentTypes,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

function isAddressInfo(address: string | AddressInfo | null): address is AddressInfo {
  return typeof address === 'object' && address !== null;
}

function customResourceEvent(
  requestType: 'Create' | 'Update' | 'Delete',
  responseUrl: string,
): CloudFormationCustomResourceEvent {
  const common = {
    ServiceToken: 'arn:aws:lambda:eu-west-1:123456789012:function:setup',
    ResponseURL: responseUrl,
    StackId: 'arn:aws:cloudformation:eu-west-1:123456789012:stack/Watchdog/1',
    RequestId: randomUUID(),
    LogicalResourceId: 'FederationSetup',
    ResourceType: 'Custom::OutboundWebIdentityFederation',
    ResourceProperties: { ServiceToken: 'arn:aws:lambda:eu-west-1:123456789012:function:setup' },
  };
  if (requestType === 'Create') return { ...common, RequestType: 'Create' };
  if (requestType === 'Update') {
    return {
      ...common,
      RequestType: 'Update',
      PhysicalResourceId: 'outbound-web-identity-federation',
      OldResourceProperties: common.ResourceProperties,
    };
  }
  return { ...common, RequestType: 'Delete', PhysicalResourceId: 'outbound-web-identity-federation' };
}

describe('federation setup custom resource', () => {
  let simulator: RunningSimulator;
  let sink: ResponseSink;
  let handler: (
    event: CloudFormationCustomResourceEvent,
    context: ReturnType<typeof lambdaContext>,
  ) => Promise<void>;

  beforeEach(async () => {
    simulator = await start({ state: sampleState(), federation: { enabled: false } });
    sink = await startResponseSink();
    vi.stubEnv('AWS_ENDPOINT_URL_IAM', simulator.stsEndpoint);
    vi.stubEnv('AWS_REGION', 'eu-west-1');
    vi.stubEnv('AWS_ACCESS_KEY_ID', 'ASIASETUPFUNCTION001');
    vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'stand-in-secret-key');
    vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    vi.resetModules();
    ({ handler } = await import('../../../functions/federation-setup/handler.ts'));
  });
  afterEach(async () => {
    vi.restoreAllMocks();
    vi.unstubAllEnvs();
    await sink.close();
    await simulator.close();
  });

  it('switches federation on at create and answers CloudFormation with the issuer', async () => {
    await handler(customResourceEvent('Create', sink.url), lambdaContext(60_000));

    expect(sink.bodies).toEqual([
      expect.objectContaining({
        Status: 'SUCCESS',
        PhysicalResourceId: 'outbound-web-identity-federation',
        LogicalResourceId: 'FederationSetup',
        Data: { Issuer: simulator.federationIssuer },
      }),
    ]);
    // The presigned URL's signature covers an empty content type.
    expect(sink.contentTypes).toEqual(['']);
    const actions = simulator.control.requests.filter((request) => request.kind === 'sts');
    expect(actions.map((request) => request.status)).toEqual([200, 200]);
  });

  it('takes "already enabled" as done, at create and update alike', async () => {
    simulator.control.setOutboundFederation(true);

    await handler(customResourceEvent('Create', sink.url), lambdaContext(60_000));
    await handler(customResourceEvent('Update', sink.url), lambdaContext(60_000));

    expect(sink.bodies).toEqual([
      expect.objectContaining({ Status: 'SUCCESS', Data: { Issuer: simulator.federationIssuer } }),
      expect.objectContaining({ Status: 'SUCCESS', Data: { Issuer: simulator.federationIssuer } }),
    ]);
    expect(
      simulator.control.requests.filter((request) => request.kind === 'sts').map((r) => r.status),
    ).toEqual([409, 200, 409, 200]);
  });

  it('leaves the account as it is when the stack is deleted', async () => {
    simulator.control.setOutboundFederation(true);

    await handler(customResourceEvent('Delete', sink.url), lambdaContext(60_000));

    expect(sink.bodies).toEqual([expect.objectContaining({ Status: 'SUCCESS' })]);
    expect(simulator.control.requests).toHaveLength(0);
  });

  it('answers FAILED with the reason when IAM keeps failing, so the deploy stops instead of hanging', async () => {
    simulator.control.failNext({ status: 500, count: 3, match: { kind: 'sts' } });

    await handler(customResourceEvent('Create', sink.url), lambdaContext(60_000));

    expect(sink.bodies).toEqual([
      expect.objectContaining({ Status: 'FAILED', Reason: expect.stringContaining('IAM failed') }),
    ]);
    expect(sink.bodies[0]).not.toHaveProperty('Data');
  });
});
