/**
 * Stand-ins for the two halves of federated Store credentials, on the simulator's own loopback port:
 *
 * - AWS STS `GetWebIdentityToken` (IAM outbound identity federation) in the AWS Query protocol the SDK
 *   speaks (`AWS_ENDPOINT_URL_STS` points it here): an RS256 JWT signed with node:crypto, with `iss`,
 *   `sub` (the caller's role ARN, found from the access key of its SigV4 signature), `aud`, `exp`,
 *   `iat`, `nbf` and `jti`. Federation switched off answers what AWS documents:
 *   `OutboundWebIdentityFederationDisabledException` (403).
 * - The issuer's OIDC discovery (`{issuer}/.well-known/openid-configuration`) and its JWKS, which the
 *   v2 token endpoint (`tokens.ts`) reads to verify an assertion's signature, as Entra ID does.
 *
 * Nothing here is a real credential: the key pair is made at start and lives as long as the simulator.
 */
import {
  createPublicKey,
  generateKeyPairSync,
  type JsonWebKey,
  type KeyObject,
  randomUUID,
  sign,
  verify,
} from 'node:crypto';

/** A signer and its published key. */
export interface IssuerKeys {
  readonly kid: string;
  readonly privateKey: KeyObject;
  readonly publicJwk: JsonWebKey;
}

/** Makes the issuer's RS256 key pair. */
export function createIssuerKeys(): IssuerKeys {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return {
    kid: randomUUID(),
    privateKey,
    publicJwk: { ...publicKey.export({ format: 'jwk' }), use: 'sig', alg: 'RS256' },
  };
}

/** The issuer path below the simulator's URL (the real one is `https://{id}.tokens.sts.global.api.aws`). */
export const ISSUER_PATH = '/outbound-federation';

/** The discovery document at `{issuer}/.well-known/openid-configuration`. */
export function renderDiscovery(issuer: string): unknown {
  return {
    issuer,
    jwks_uri: `${issuer}/.well-known/jwks.json`,
    response_types_supported: ['id_token'],
    subject_types_supported: ['public'],
    id_token_signing_alg_values_supported: ['RS256'],
  };
}

export function renderJwks(keys: IssuerKeys): unknown {
  return { keys: [{ ...keys.publicJwk, kid: keys.kid }] };
}

const base64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

/** Signs `claims` as an RS256 JWT. */
export function signJwt(keys: IssuerKeys, claims: Readonly<Record<string, unknown>>): string {
  const input = `${base64url({ alg: 'RS256', typ: 'JWT', kid: keys.kid })}.${base64url(claims)}`;
  return `${input}.${sign('sha256', Buffer.from(input), keys.privateKey).toString('base64url')}`;
}

/** A JWT's parts, decoded but not verified. */
export interface DecodedJwt {
  readonly header: Readonly<Record<string, unknown>>;
  readonly claims: Readonly<Record<string, unknown>>;
  readonly signedInput: string;
  readonly signature: Buffer;
}

export function decodeJwt(token: string): DecodedJwt | undefined {
  const parts = token.split('.');
  const [header, claims, signature] = parts;
  if (parts.length !== 3 || header === undefined || claims === undefined || signature === undefined) {
    return undefined;
  }
  try {
    const decodedHeader: unknown = JSON.parse(Buffer.from(header, 'base64url').toString('utf8'));
    const decodedClaims: unknown = JSON.parse(Buffer.from(claims, 'base64url').toString('utf8'));
    if (!isRecord(decodedHeader) || !isRecord(decodedClaims)) return undefined;
    return {
      header: decodedHeader,
      claims: decodedClaims,
      signedInput: `${header}.${claims}`,
      signature: Buffer.from(signature, 'base64url'),
    };
  } catch {
    return undefined;
  }
}

/** Whether `jwt` was signed by one of `jwks`'s RS256 keys (the one its `kid` names). */
export function verifyJwtSignature(jwt: DecodedJwt, jwks: unknown): boolean {
  if (jwt.header.alg !== 'RS256' || !isRecord(jwks) || !Array.isArray(jwks.keys)) return false;
  const jwk: unknown = jwks.keys.find((key: unknown) => isRecord(key) && key.kid === jwt.header.kid);
  if (!isRecord(jwk) || typeof jwk.n !== 'string' || typeof jwk.e !== 'string') return false;
  const publicKey = createPublicKey({ key: { kty: 'RSA', n: jwk.n, e: jwk.e }, format: 'jwk' });
  return verify('sha256', Buffer.from(jwt.signedInput), publicKey, jwt.signature);
}

/** What the STS stand-in answers: an AWS Query XML body and its status. */
export interface StsReply {
  readonly status: number;
  readonly xml: string;
}

const STS_NAMESPACE = 'https://sts.amazonaws.com/doc/2011-06-15/';
const IAM_NAMESPACE = 'https://iam.amazonaws.com/doc/2010-05-08/';

function stsError(status: number, code: string, message: string, namespace = STS_NAMESPACE): StsReply {
  return {
    status,
    xml:
      `<ErrorResponse xmlns="${namespace}"><Error><Type>Sender</Type><Code>${code}</Code>` +
      `<Message>${escapeXml(message)}</Message></Error><RequestId>${randomUUID()}</RequestId></ErrorResponse>`,
  };
}

/** The STS stand-in's settings and state. */
export interface StsStandIn {
  readonly issuer: string;
  readonly keys: IssuerKeys;
  /** Outbound identity federation switched on in the (one) account. */
  enabled: boolean;
  /** Access key ID → the role ARN that signs with it. */
  readonly principals: Readonly<Record<string, string>>;
  /** The subject for an access key not in `principals`. */
  readonly defaultSubject: string;
  readonly now: () => number;
  /** Every token issued, in issue order. */
  readonly issued: string[];
}

/** The access key ID of a SigV4 `Authorization` header. */
function accessKeyOf(authorization: string | undefined): string | undefined {
  return /Credential=([^/,\s]+)\//.exec(authorization ?? '')?.[1];
}

/** An IAM AWS Query success body. */
function iamResult(action: string, result: string): StsReply {
  return {
    status: 200,
    xml:
      `<${action}Response xmlns="${IAM_NAMESPACE}"><${action}Result>${result}</${action}Result>` +
      `<ResponseMetadata><RequestId>${randomUUID()}</RequestId></ResponseMetadata></${action}Response>`,
  };
}

/**
 * The account's side in IAM (`AWS_ENDPOINT_URL_IAM` points the SDK here): switching outbound identity
 * federation on (`FeatureEnabled`, 409, when it already is) and reading its issuer.
 */
function answerIam(sts: StsStandIn, action: string): StsReply {
  if (action === 'EnableOutboundWebIdentityFederation') {
    if (sts.enabled) {
      return stsError(
        409,
        'FeatureEnabled',
        'Outbound identity federation is already enabled for this account.',
        IAM_NAMESPACE,
      );
    }
    sts.enabled = true;
    return iamResult(action, `<IssuerIdentifier>${sts.issuer}</IssuerIdentifier>`);
  }
  if (!sts.enabled) {
    return stsError(
      409,
      'FeatureDisabled',
      'Outbound identity federation is not enabled for this account.',
      IAM_NAMESPACE,
    );
  }
  return iamResult(
    action,
    `<IssuerIdentifier>${sts.issuer}</IssuerIdentifier><JwtVendingEnabled>true</JwtVendingEnabled>`,
  );
}

/**
 * Answers an STS (or IAM) AWS Query request (form body with `Action`). Served: `GetWebIdentityToken`,
 * and IAM's `EnableOutboundWebIdentityFederation` and `GetOutboundWebIdentityFederationInfo`;
 * parameters are checked as the API reference says.
 */
export function answerSts(
  sts: StsStandIn,
  form: URLSearchParams,
  authorization: string | undefined,
): StsReply {
  const action = form.get('Action');
  if (action === 'EnableOutboundWebIdentityFederation' || action === 'GetOutboundWebIdentityFederationInfo') {
    return answerIam(sts, action);
  }
  if (action !== 'GetWebIdentityToken') {
    return stsError(
      400,
      'InvalidAction',
      `The action ${quoteXml(action ?? '')} is not valid for this endpoint.`,
    );
  }
  const audiences = [...form.entries()]
    .filter(([key]) => /^Audience\.member\.\d+$/.test(key))
    .map(([, value]) => value);
  if (audiences.length < 1 || audiences.length > 10 || audiences.some((aud) => aud.length > 1000)) {
    return stsError(400, 'ValidationError', 'Audience must have 1 to 10 members of at most 1000 characters.');
  }
  const algorithm = form.get('SigningAlgorithm');
  if (algorithm !== 'RS256' && algorithm !== 'ES384') {
    return stsError(400, 'ValidationError', 'SigningAlgorithm must be RS256 or ES384.');
  }
  if (algorithm === 'ES384') {
    return stsError(400, 'ValidationError', 'This stand-in signs RS256 only.');
  }
  const rawDuration = form.get('DurationSeconds');
  const duration = rawDuration === null ? 300 : Number(rawDuration);
  if (!Number.isInteger(duration) || duration < 60 || duration > 3600) {
    return stsError(400, 'ValidationError', 'DurationSeconds must be between 60 and 3600.');
  }
  if (!sts.enabled) {
    return stsError(
      403,
      'OutboundWebIdentityFederationDisabledException',
      'The outbound web identity federation feature is not enabled for this account.',
    );
  }
  const accessKey = accessKeyOf(authorization);
  const subject = (accessKey === undefined ? undefined : sts.principals[accessKey]) ?? sts.defaultSubject;
  const nowSeconds = Math.floor(sts.now() / 1000);
  const expires = nowSeconds + duration;
  const token = signJwt(sts.keys, {
    iss: sts.issuer,
    sub: subject,
    aud: audiences.length === 1 ? audiences[0] : audiences,
    iat: nowSeconds,
    nbf: nowSeconds,
    exp: expires,
    jti: randomUUID(),
    'https://sts.amazonaws.com/': { principal_id: subject },
  });
  sts.issued.push(token);
  return {
    status: 200,
    xml:
      `<GetWebIdentityTokenResponse xmlns="${STS_NAMESPACE}"><GetWebIdentityTokenResult>` +
      `<WebIdentityToken>${token}</WebIdentityToken>` +
      `<Expiration>${new Date(expires * 1000).toISOString()}</Expiration>` +
      `</GetWebIdentityTokenResult><ResponseMetadata><RequestId>${randomUUID()}</RequestId>` +
      '</ResponseMetadata></GetWebIdentityTokenResponse>',
  };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function quoteXml(value: string): string {
  return value.replace(/[^\w.-]/g, '?').slice(0, 64);
}
