/**
 * A loopback stand-in for the two AWS calls the halt-rollout handler makes, so the benchmark can run the
 * real handler (its real `SecretsManagerClient` and `SNSClient`, pointed here by `AWS_ENDPOINT_URL`)
 * without moto or an account:
 *
 * - Secrets Manager `GetSecretValue` (AWS JSON 1.1: `POST /` with `X-Amz-Target: secretsmanager.GetSecretValue`);
 * - SNS `Publish` (AWS Query: a form-encoded `POST /` with `Action=Publish`, answered in XML).
 *
 * Anything else is answered with the service's error shape. Requests are not authenticated (the SDK
 * signs them; nobody checks). Like the Store simulator, it records every request and can delay every
 * answer by an injected latency, so the cold path's secret fetch costs a round trip like the others.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

export interface AwsStandInOptions {
  /** The one secret it serves: its id (name or ARN, as the handler is configured) and value. */
  readonly secret: { readonly id: string; readonly value: string };
  /** Loopback port; 0 (default) picks a free one. */
  readonly port?: number;
}

export interface AwsRequestRecord {
  readonly kind: 'secret' | 'publish' | 'other';
  /** `performance.now()` when the request arrived and when the answer was sent. */
  readonly startedAt: number;
  endedAt: number | undefined;
  status: number | undefined;
}

/** One published notification, as the stand-in read it from the form. */
export interface PublishedNotification {
  readonly topicArn: string;
  readonly subject: string | undefined;
  /** The `outcome` message attribute. */
  readonly outcome: string | undefined;
}

export interface RunningAwsStandIn {
  /** `http://127.0.0.1:PORT`: what `AWS_ENDPOINT_URL` is set to. */
  readonly url: string;
  /** Every request received, in arrival order. */
  readonly requests: readonly AwsRequestRecord[];
  readonly published: readonly PublishedNotification[];
  clearRecords(): void;
  /** Delay every answer by `ms` (0 turns it off). */
  setLatency(ms: number): void;
  close(): Promise<void>;
}

const SECRET_ARN_PREFIX = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:';

/** Starts the stand-in on 127.0.0.1. */
export async function startAwsStandIn(options: AwsStandInOptions): Promise<RunningAwsStandIn> {
  const requests: AwsRequestRecord[] = [];
  const published: PublishedNotification[] = [];
  const versionId = randomUUID();
  const createdDate = Math.floor(Date.now() / 1000);
  const shutdown = new AbortController();
  let latencyMs = 0;

  const send = (
    res: ServerResponse,
    record: AwsRequestRecord,
    status: number,
    contentType: string,
    body: string,
  ) => {
    if (res.headersSent || res.destroyed) return;
    record.status = status;
    record.endedAt = performance.now();
    res.writeHead(status, {
      'Content-Type': contentType,
      'Content-Length': Buffer.byteLength(body),
      'x-amzn-RequestId': randomUUID(),
    });
    res.end(body);
  };

  const answerSecret = (res: ServerResponse, record: AwsRequestRecord, raw: string) => {
    const json = 'application/x-amz-json-1.1';
    const secretId = readSecretId(raw);
    const known =
      secretId === options.secret.id ||
      secretId === `${SECRET_ARN_PREFIX}${options.secret.id}` ||
      (secretId !== undefined && `${SECRET_ARN_PREFIX}${secretId}` === options.secret.id);
    if (!known) {
      send(
        res,
        record,
        400,
        json,
        JSON.stringify({
          __type: 'ResourceNotFoundException',
          message: "Secrets Manager can't find the specified secret.",
        }),
      );
      return;
    }
    send(
      res,
      record,
      200,
      json,
      JSON.stringify({
        ARN: options.secret.id.startsWith('arn:')
          ? options.secret.id
          : `${SECRET_ARN_PREFIX}${options.secret.id}`,
        Name: options.secret.id,
        VersionId: versionId,
        SecretString: options.secret.value,
        VersionStages: ['AWSCURRENT'],
        CreatedDate: createdDate,
      }),
    );
  };

  const answerQuery = (res: ServerResponse, record: AwsRequestRecord, raw: string) => {
    const form = new URLSearchParams(raw);
    const xml = 'text/xml';
    if (form.get('Action') !== 'Publish') {
      send(res, record, 400, xml, renderQueryError('InvalidAction', 'The action is not supported here.'));
      return;
    }
    const topicArn = form.get('TopicArn');
    const message = form.get('Message');
    if (topicArn === null || message === null) {
      send(res, record, 400, xml, renderQueryError('InvalidParameter', 'TopicArn and Message are required.'));
      return;
    }
    published.push({
      topicArn,
      subject: form.get('Subject') ?? undefined,
      outcome: readMessageAttribute(form, 'outcome'),
    });
    const requestId = randomUUID();
    send(
      res,
      record,
      200,
      xml,
      `<PublishResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><PublishResult><MessageId>${randomUUID()}</MessageId></PublishResult><ResponseMetadata><RequestId>${requestId}</RequestId></ResponseMetadata></PublishResponse>`,
    );
  };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const target = req.headers['x-amz-target'];
    const isSecret = target === 'secretsmanager.GetSecretValue';
    const isQuery = (req.headers['content-type'] ?? '').startsWith('application/x-www-form-urlencoded');
    const record: AwsRequestRecord = {
      kind: isSecret ? 'secret' : isQuery ? 'publish' : 'other',
      startedAt: performance.now(),
      endedAt: undefined,
      status: undefined,
    };
    requests.push(record);
    const raw = await readBody(req);
    if (latencyMs > 0) await sleep(latencyMs, undefined, { signal: shutdown.signal });
    if (req.method !== 'POST') {
      send(res, record, 405, 'text/plain', 'POST only');
    } else if (isSecret) {
      answerSecret(res, record, raw);
    } else if (isQuery) {
      answerQuery(res, record, raw);
    } else {
      send(
        res,
        record,
        400,
        'application/x-amz-json-1.1',
        JSON.stringify({
          __type: 'UnknownOperationException',
          message: `unsupported target ${String(target)}`,
        }),
      );
    }
  };

  const server = createServer({ keepAlive: true }, (req, res) => {
    handle(req, res).catch(() => {
      if (shutdown.signal.aborted) return;
      if (!res.headersSent && !res.destroyed) {
        res.writeHead(500);
        res.end();
      }
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  const port = isAddressInfo(address) ? address.port : 0;

  let closing: Promise<void> | undefined;
  return {
    url: `http://127.0.0.1:${port}`,
    get requests() {
      return [...requests];
    },
    get published() {
      return [...published];
    },
    clearRecords() {
      requests.length = 0;
      published.length = 0;
    },
    setLatency(ms) {
      if (!Number.isFinite(ms) || ms < 0)
        throw new RangeError(`latency must be a non-negative number, got ${ms}`);
      latencyMs = ms;
    },
    close() {
      closing ??= new Promise<void>((resolve) => {
        shutdown.abort();
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closing;
    },
  };
}

function readSecretId(raw: string): string | undefined {
  try {
    const parsed: unknown = JSON.parse(raw);
    if (typeof parsed === 'object' && parsed !== null && 'SecretId' in parsed) {
      return typeof parsed.SecretId === 'string' ? parsed.SecretId : undefined;
    }
  } catch {
    // Not JSON: no secret id.
  }
  return undefined;
}

/** A message attribute's string value from the Query form (`MessageAttributes.entry.N.Name/Value.StringValue`). */
function readMessageAttribute(form: URLSearchParams, name: string): string | undefined {
  for (const [key, value] of form) {
    const match = /^MessageAttributes\.entry\.(\d+)\.Name$/.exec(key);
    if (match !== null && value === name) {
      return form.get(`MessageAttributes.entry.${match[1]}.Value.StringValue`) ?? undefined;
    }
  }
  return undefined;
}

function renderQueryError(code: string, message: string): string {
  return `<ErrorResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><Error><Type>Sender</Type><Code>${code}</Code><Message>${message}</Message></Error><RequestId>${randomUUID()}</RequestId></ErrorResponse>`;
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) {
    if (Buffer.isBuffer(chunk)) chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function isAddressInfo(address: string | AddressInfo | null): address is AddressInfo {
  return typeof address === 'object' && address !== null;
}
