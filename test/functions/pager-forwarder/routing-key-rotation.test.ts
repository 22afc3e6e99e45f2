/**
 * A rotated PagerDuty routing key (moto's Secrets Manager, the Events API stand-in, an injected clock):
 * the key is read again at most every few minutes, and at once when PagerDuty refuses it as an invalid
 * routing key, so the page that found the old key refused goes out with the new one.
 */
import { PutSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createDispatcher } from '../../../functions/commons/http/transport.ts';
import { createEventsApiClient } from '../../../functions/pager-forwarder/events-api.ts';
import { forwardBatch } from '../../../functions/pager-forwarder/forward.ts';
import { createRoutingKeySource } from '../../../functions/pager-forwarder/routing-key.ts';
import { describeWithMoto } from '../../support/aws.ts';
import { createSecret, motoClients } from '../../support/aws-resources.ts';
import { type EventsApiStandIn, startEventsApiStandIn } from '../../support/pagerduty-stand-in.ts';

const OLD_KEY = 'oldoldoldoldoldoldoldoldoldold01';
const NEW_KEY = 'newnewnewnewnewnewnewnewnewnew02';

/** The secret's reads, counted on the client itself. */
function countedSecrets() {
  const { secrets } = motoClients();
  const counter = { reads: 0 };
  secrets.middlewareStack.add(
    (next, context) => async (args) => {
      if (context.commandName === 'GetSecretValueCommand') counter.reads += 1;
      return next(args);
    },
    { step: 'initialize', name: 'countReads' },
  );
  return { secrets, counter };
}

const record = (id: string) => ({
  messageId: id,
  body: JSON.stringify({
    Type: 'Notification',
    MessageId: id,
    Message: JSON.stringify({ AlarmName: 'contoso-photos-store-health', NewStateValue: 'ALARM' }),
  }),
});

const quietLogger = { info: () => {}, error: () => {} };

describeWithMoto('the pager routing key after a rotation', () => {
  let standIn: EventsApiStandIn;
  beforeAll(async () => {
    standIn = await startEventsApiStandIn();
  });
  afterAll(async () => {
    await standIn.close();
  });

  it('reads the key again after the interval, not before', async () => {
    const { secrets, counter } = countedSecrets();
    const secretId = await createSecret(secrets, JSON.stringify({ routingKey: OLD_KEY }));
    let time = 1_000;
    const source = createRoutingKeySource(secrets, secretId, { maxAgeMs: 300_000, now: () => time });
    const signal = AbortSignal.timeout(10_000);
    const before = counter.reads;
    expect(await source.get(signal)).toBe(OLD_KEY);
    await secrets.send(new PutSecretValueCommand({ SecretId: secretId, SecretString: NEW_KEY }));
    time += 299_999;
    expect(await source.get(signal)).toBe(OLD_KEY);
    expect(counter.reads - before).toBe(1);
    time += 1;
    expect(await source.get(signal)).toBe(NEW_KEY);
    expect(counter.reads - before).toBe(2);
  });

  it('reads the key again when PagerDuty refuses it, and delivers the page with the new key', async () => {
    const { secrets, counter } = countedSecrets();
    const secretId = await createSecret(secrets, OLD_KEY);
    const time = 1_000;
    const routingKey = createRoutingKeySource(secrets, secretId, { now: () => time });
    const events = createEventsApiClient({ dispatcher: createDispatcher(), url: standIn.url });
    const signal = AbortSignal.timeout(10_000);
    standIn.acceptKeys(OLD_KEY);
    const first = await forwardBatch([record('m-1')], { events, routingKey, logger: quietLogger }, signal);
    expect(first.batchItemFailures).toEqual([]);
    const readsBefore = counter.reads;

    // The integration is replaced: PagerDuty knows only the new key, which the secret now holds.
    await secrets.send(new PutSecretValueCommand({ SecretId: secretId, SecretString: NEW_KEY }));
    standIn.acceptKeys(NEW_KEY);
    const acceptedBefore = standIn.accepted.length;
    const requestsBefore = standIn.requests();
    const second = await forwardBatch([record('m-2')], { events, routingKey, logger: quietLogger }, signal);

    expect(second.batchItemFailures).toEqual([]);
    // Refused once with the old key, read again at once (no clock moved), sent once with the new one.
    expect(standIn.requests() - requestsBefore).toBe(2);
    expect(counter.reads - readsBefore).toBe(1);
    expect(standIn.accepted.slice(acceptedBefore).map((event) => event.routing_key)).toEqual([NEW_KEY]);
  });

  it('fails the record when the secret still holds the refused key, after one re-read', async () => {
    const { secrets, counter } = countedSecrets();
    const secretId = await createSecret(secrets, OLD_KEY);
    const routingKey = createRoutingKeySource(secrets, secretId);
    const events = createEventsApiClient({ dispatcher: createDispatcher(), url: standIn.url });
    standIn.acceptKeys(NEW_KEY);
    const before = counter.reads;
    const errors: unknown[] = [];
    const response = await forwardBatch(
      [record('m-3')],
      {
        events,
        routingKey,
        logger: { info: () => {}, error: (_message, attributes) => errors.push(attributes) },
      },
      AbortSignal.timeout(10_000),
    );
    expect(response.batchItemFailures).toEqual([{ itemIdentifier: 'm-3' }]);
    expect(counter.reads - before).toBe(2);
    expect(JSON.stringify(errors)).toContain('PAGER_ROUTING_KEY_REFUSED');
    expect(JSON.stringify(errors)).not.toContain(OLD_KEY);
  });
});
