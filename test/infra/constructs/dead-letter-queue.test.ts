import { App, Duration, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { describe, expect, it } from 'vitest';
import { DeadLetterQueue } from '../../../infra/constructs/dead-letter-queue.ts';
import { addNagChecks } from '../../../infra/watchdog-app.ts';

const REASON = 'This queue is itself the dead-letter queue of the test, watched by an alarm on its depth.';

function synthesize(build: (stack: Stack) => void): Template {
  const app = new App();
  const stack = new Stack(app, 'QueueUnderTest');
  build(stack);
  addNagChecks(app);
  return Template.fromJSON(app.synth().getStackByName(stack.stackName).template);
}

describe('DeadLetterQueue', () => {
  it('is encrypted (SQS managed), keeps messages 14 days and refuses requests without TLS', () => {
    const template = synthesize((stack) => new DeadLetterQueue(stack, 'DeadLetterQueue', { reason: REASON }));

    template.resourceCountIs('AWS::SQS::Queue', 1);
    template.hasResourceProperties('AWS::SQS::Queue', {
      SqsManagedSseEnabled: true,
      MessageRetentionPeriod: 1_209_600,
    });
    template.hasResourceProperties('AWS::SQS::QueuePolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
        ]),
      },
    });
  });

  it('Compliance: passes the cdk-nag gate although it has no dead-letter queue of its own', () => {
    expect(() =>
      synthesize((stack) => new DeadLetterQueue(stack, 'DeadLetterQueue', { reason: REASON })),
    ).not.toThrow();
  });

  it('Noncompliance: the same queue without the acknowledgement fails the gate', () => {
    expect(() =>
      synthesize(
        (stack) =>
          new Queue(stack, 'DeadLetterQueue', {
            encryption: QueueEncryption.SQS_MANAGED,
            enforceSSL: true,
            retentionPeriod: Duration.days(14),
          }),
      ),
    ).toThrow(/AwsSolutions-SQS3/);
  });
});
