/**
 * The assertion a federated sign-in presents to Entra ID (an AWS STS web identity token), apart from the
 * token provider so that the lazily loaded STS side (`aws/web-identity.ts`) does not pull the provider's
 * module graph (zod) into its lazy part of the bundle.
 */
import type { PresentedIdentity } from '../domain/federation.ts';

/**
 * A signed token that proves the function's identity to Azure AD (an STS web identity token), with the
 * claims Azure AD matches against its federated credentials. Logs and serializes without the token.
 */
export class ClientAssertion implements PresentedIdentity {
  readonly issuer: string;
  readonly subject: string;
  readonly #value: string;

  constructor(value: string, presented: PresentedIdentity) {
    this.#value = value;
    this.issuer = presented.issuer;
    this.subject = presented.subject;
  }

  /** The token itself, for the `client_assertion` form field only. */
  get value(): string {
    return this.#value;
  }

  toJSON(): { issuer: string; subject: string; value: string } {
    return { issuer: this.issuer, subject: this.subject, value: '[redacted]' };
  }

  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return `ClientAssertion { issuer: '${this.issuer}', subject: '${this.subject}', value: [redacted] }`;
  }
}
