/**
 * The reference bundle's entry: only what no version of the handler can do without (the two AWS SDK
 * clients and their commands, and undici's `Agent`), bundled with the stack's options. The artifact's
 * size and import time are compared with this. Nothing is constructed here: the reference is the pure
 * cost of loading the dependencies (the handler additionally builds its clients during import).
 */
export { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
export { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
export { Agent } from 'undici';
