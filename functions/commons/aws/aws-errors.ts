/**
 * An AWS SDK failure in words a person can act on: the SDK's own message (for example "Region is
 * missing" or "User: … is not authorized to perform: cloudwatch:DescribeAlarms"), its error name, and
 * which of the three usual causes to check: the credentials, the region, or the permission.
 */

/** What to check first. */
export type AwsErrorCause = 'credentials' | 'region' | 'permission';

/** The hint for each cause; `permission` names the action the caller needs. */
function hintFor(cause: AwsErrorCause, action: string): string {
  switch (cause) {
    case 'credentials':
      return 'check the AWS credentials (AWS_PROFILE, an expired SSO session or keys, or the role)';
    case 'region':
      return 'check the AWS region (AWS_REGION, or the region of your AWS profile)';
    case 'permission':
      return `check the permission: the caller needs ${action}`;
  }
}

const CREDENTIAL_ERRORS = new Set([
  'CredentialsProviderError',
  'ExpiredToken',
  'ExpiredTokenException',
  'InvalidClientTokenId',
  'UnrecognizedClientException',
  'InvalidSignatureException',
  'SignatureDoesNotMatch',
  'IncompleteSignature',
  'MissingAuthenticationToken',
  'TokenRefreshRequired',
]);

const PERMISSION_ERRORS = new Set([
  'AccessDenied',
  'AccessDeniedException',
  'AuthorizationError',
  'UnauthorizedOperation',
  'KMSAccessDeniedException',
]);

/** Which cause an SDK error points to, or `undefined` when it is none of the three. */
export function causeOf(error: unknown): AwsErrorCause | undefined {
  const name = error instanceof Error ? error.name : '';
  const message = error instanceof Error ? error.message : '';
  if (
    CREDENTIAL_ERRORS.has(name) ||
    /could not load credentials|security token .* (invalid|expired)/i.test(message)
  ) {
    return 'credentials';
  }
  if (
    /region is missing|invalid region|unknownendpoint/i.test(`${name} ${message}`) ||
    errorCodeOf(error) === 'ENOTFOUND'
  ) {
    return 'region';
  }
  if (
    PERMISSION_ERRORS.has(name) ||
    httpStatusOf(error) === 403 ||
    /not authorized to perform/i.test(message)
  ) {
    return 'permission';
  }
  return undefined;
}

/**
 * `<what> failed: <the SDK's message> (<error name>); check …`. `action` is the IAM action the call
 * needs (e.g. `cloudwatch:DescribeAlarms`), named when the cause is a permission.
 */
export function describeAwsFailure(what: string, error: unknown, action: string): string {
  return `${what} failed${awsErrorDetail(error, action)}`;
}

/** `: <the SDK's message> (<error name>); check …`, to follow a statement of what failed. */
export function awsErrorDetail(error: unknown, action: string): string {
  const name = error instanceof Error ? error.name : 'Unknown';
  const message = error instanceof Error ? oneLine(error.message) : '';
  const said = message === '' || message === name ? ` (${name})` : `: ${message} (${name})`;
  return `${said}${awsErrorHint(error, action)}`;
}

/** `; check …` for an error that points to the credentials, the region or a permission; else empty. */
export function awsErrorHint(error: unknown, action: string): string {
  const cause = causeOf(error);
  return cause === undefined ? '' : `; ${hintFor(cause, action)}`;
}

/** The HTTP status the AWS SDK recorded on a service error (`$metadata.httpStatusCode`), if any. */
export function httpStatusOf(error: unknown): number | undefined {
  if (typeof error !== 'object' || error === null || !('$metadata' in error)) return undefined;
  const metadata: unknown = error.$metadata;
  if (typeof metadata !== 'object' || metadata === null || !('httpStatusCode' in metadata)) return undefined;
  return typeof metadata.httpStatusCode === 'number' ? metadata.httpStatusCode : undefined;
}

/** A Node system error's code (`ENOTFOUND`, `ECONNREFUSED`), if any. */
function errorCodeOf(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null || !('code' in error)) return undefined;
  return typeof error.code === 'string' ? error.code : undefined;
}

/** The first line of a message, at most 300 characters (SDK messages can carry a whole XML body). */
function oneLine(message: string): string {
  const first = message.split('\n', 1)[0]?.trim() ?? '';
  return first.length > 300 ? `${first.slice(0, 299)}…` : first;
}
