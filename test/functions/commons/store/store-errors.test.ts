import { describe, expect, it } from 'vitest';
import { DeadlineExceededError, StoreApiError } from '../../../../functions/commons/errors.ts';
import { classifyFailure } from '../../../../functions/commons/http/transport.ts';
import { readNextPage } from '../../../../functions/commons/store/store-client.ts';
import {
  createStoreErrorFromFailure,
  createStoreErrorFromResponse,
  isAmbiguousFailure,
  parseRetryHintFromMessage,
  parseStoreErrorBody,
} from '../../../../functions/commons/store/store-errors.ts';

const request = 'POST applications/9NBLGGH4R315/submissions/1152921504621243680/haltpackagerollout';

describe('Store error bodies', () => {
  it('reads the Store shape {code, message, target} (windows-dev-center-vsts-extension#72)', () => {
    const body = JSON.stringify({
      code: 'InvalidState',
      message: 'This application uses features that are not supported by the submission API.',
      target: 'application',
    });
    expect(parseStoreErrorBody(body)).toEqual({
      storeCode: 'InvalidState',
      storeMessage: 'This application uses features that are not supported by the submission API.',
    });
  });

  it('reads the gateway shape {statusCode, message} (the API gateway answers so itself)', () => {
    const body = JSON.stringify({
      statusCode: 401,
      message: 'APIM: Unauthorized. Access token is missing or invalid.',
    });
    expect(parseStoreErrorBody(body)).toEqual({
      storeCode: '401',
      storeMessage: 'APIM: Unauthorized. Access token is missing or invalid.',
    });
  });

  it('survives bodies that are not JSON or not the known shape', () => {
    expect(parseStoreErrorBody('<html>Bad gateway</html>')).toEqual({});
    expect(parseStoreErrorBody('"oops"')).toEqual({});
    expect(parseStoreErrorBody(JSON.stringify({ message: 42 }))).toEqual({});
  });

  it('caps a long Store message', () => {
    const parsed = parseStoreErrorBody(JSON.stringify({ code: 'X', message: 'a'.repeat(5_000) }));
    expect(parsed.storeMessage?.length).toBe(400);
  });
});

describe('createStoreErrorFromResponse', () => {
  it.each([
    [400, 'STORE_BAD_REQUEST', false],
    [401, 'STORE_UNAUTHORIZED', false],
    [403, 'STORE_FORBIDDEN', false],
    [404, 'STORE_NOT_FOUND', false],
    [409, 'STORE_CONFLICT', false],
    [429, 'STORE_THROTTLED', true],
    [500, 'STORE_UNAVAILABLE', true],
    [503, 'STORE_UNAVAILABLE', true],
    [418, 'STORE_HTTP_ERROR', false],
  ])('maps HTTP %i to %s (retryable: %s)', (status, code, retryable) => {
    const error = createStoreErrorFromResponse(request, status, {}, '');
    expect(error).toBeInstanceOf(StoreApiError);
    expect(error).toMatchObject({ code, retryable, status, request, kind: 'upstream' });
  });

  it("carries the Store's code, message and correlation id, and says them in the message", () => {
    const error = createStoreErrorFromResponse(
      request,
      409,
      { 'ms-correlationid': 'c0ffee00-0000-4000-8000-000000000000' },
      JSON.stringify({ code: 'InvalidState', message: 'The submission is not in a valid state.' }),
    );
    expect(error).toMatchObject({
      storeCode: 'InvalidState',
      storeMessage: 'The submission is not in a valid state.',
      correlationId: 'c0ffee00-0000-4000-8000-000000000000',
    });
    expect(error.message).toBe(
      `${request} answered 409 (InvalidState: The submission is not in a valid state.) ` +
        '[MS-CorrelationId c0ffee00-0000-4000-8000-000000000000]',
    );
  });
});

describe('transport failures', () => {
  const live = new AbortController().signal;

  it('classifies undici timeouts as retryable STORE_TIMEOUT', () => {
    const failure = classifyFailure(
      Object.assign(new Error('Headers Timeout Error'), { code: 'UND_ERR_HEADERS_TIMEOUT' }),
      live,
    );
    const error = createStoreErrorFromFailure(request, failure, undefined);
    expect(error).toMatchObject({ code: 'STORE_TIMEOUT', retryable: true, request });
  });

  it('classifies resets and refusals as retryable STORE_NETWORK, naming the code', () => {
    for (const code of ['UND_ERR_SOCKET', 'ECONNRESET', 'ECONNREFUSED']) {
      const failure = classifyFailure(Object.assign(new Error('boom'), { code }), live);
      const error = createStoreErrorFromFailure(request, failure, undefined);
      expect(error).toMatchObject({ code: 'STORE_NETWORK', retryable: true });
      expect(error.message).toContain(code);
    }
  });

  it('does not retry an unknown failure', () => {
    const failure = classifyFailure(new TypeError('bad header'), live);
    expect(failure).toEqual({ kind: 'network', detail: 'TypeError', retryable: false });
  });

  it('reports the deadline, not the symptom, once the caller signal aborted', () => {
    const controller = new AbortController();
    controller.abort();
    const failure = classifyFailure(
      Object.assign(new Error('aborted'), { code: 'UND_ERR_ABORTED' }),
      controller.signal,
    );
    expect(createStoreErrorFromFailure(request, failure, undefined)).toBeInstanceOf(DeadlineExceededError);
  });

  it('treats 5xx, timeouts and network failures of a POST as ambiguous, and nothing else', () => {
    const ambiguous = ['STORE_UNAVAILABLE', 'STORE_TIMEOUT', 'STORE_NETWORK'];
    for (const code of ambiguous) expect(isAmbiguousFailure(new StoreApiError(code, 'x', {}))).toBe(true);
    for (const code of ['STORE_CONFLICT', 'STORE_THROTTLED', 'STORE_NOT_FOUND', 'STORE_BAD_RESPONSE']) {
      expect(isAmbiguousFailure(new StoreApiError(code, 'x', {}))).toBe(false);
    }
    expect(isAmbiguousFailure(new Error('x'))).toBe(false);
  });
});

describe('readNextPage', () => {
  const what = 'GET applications/9NBLGGH4R315/listflights';
  const first = { top: '2', skip: '0' };

  it('takes only skip and top from the documented @nextLink', () => {
    expect(readNextPage('applications/9NBLGGH4R315/listflights/?skip=2&top=2', first, what)).toEqual({
      skip: '2',
      top: '2',
    });
    expect(
      readNextPage('https://elsewhere.example/steal?skip=4&top=2', { top: '2', skip: '2' }, what),
    ).toEqual({
      skip: '4',
      top: '2',
    });
  });

  it('ends when there is no next link', () => {
    expect(readNextPage(undefined, first, what)).toBeUndefined();
    expect(readNextPage('', first, what)).toBeUndefined();
  });

  it('rejects a link without a numeric skip, or one that does not move forward', () => {
    expect(() => readNextPage('applications/x/listflights?top=2', first, what)).toThrow(/STORE|numeric skip/);
    expect(() => readNextPage('listflights?skip=0&top=2', first, what)).toThrow(/does not move forward/);
    const error = (() => {
      try {
        readNextPage('listflights?skip=abc', first, what);
      } catch (caught) {
        return caught;
      }
      return undefined;
    })();
    expect(error).toMatchObject({ code: 'STORE_BAD_RESPONSE', request: what });
  });
});

describe('parseRetryHintFromMessage', () => {
  it('reads the wait from the Store\'s 429 message ("Try again in N seconds")', () => {
    expect(parseRetryHintFromMessage('Rate limit is exceeded. Try again in 14 seconds.')).toBe(14_000);
    expect(parseRetryHintFromMessage('Try again in 1 second')).toBe(1_000);
  });

  it('gives nothing for other messages', () => {
    expect(parseRetryHintFromMessage('Service unavailable')).toBeUndefined();
    expect(parseRetryHintFromMessage(undefined)).toBeUndefined();
  });
});
