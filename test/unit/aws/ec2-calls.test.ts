import { callEc2 } from '../../../shared/aws/ec2-calls';
import { DEFAULT_RETRY_POLICY } from '../../../shared/aws/retry';
import { FakeTimer } from './fake-timer';

function ec2Error(name: string, status: number): Error {
  return Object.assign(new Error(`${name} (test)`), { name, $metadata: { httpStatusCode: status } });
}

describe('callEc2', () => {
  it('retries throttling and server errors with backoff, then answers', async () => {
    // Prepare
    const timer = new FakeTimer();
    const errors = [ec2Error('RequestLimitExceeded', 503), ec2Error('InternalError', 500)];
    let calls = 0;

    // Act
    const result = await callEc2(
      async () => {
        const error = errors[calls++];
        if (error !== undefined) throw error;
        return 'ok';
      },
      { timer, random: () => 0.5 },
    );

    // Assess
    expect(result).toBe('ok');
    expect(calls).toBe(3);
    expect(timer.sleeps).toEqual([50, 100]);
  });

  it('does not retry a client error', async () => {
    // Prepare
    const timer = new FakeTimer();
    let calls = 0;

    // Act / Assess
    await expect(
      callEc2(async () => {
        calls++;
        throw ec2Error('IncorrectState', 400);
      }, { timer }),
    ).rejects.toThrow('IncorrectState (test)');
    expect(calls).toBe(1);
  });

  it('gives up after the bounded attempts', async () => {
    // Prepare
    const timer = new FakeTimer();
    let calls = 0;

    // Act / Assess
    await expect(
      callEc2(async () => {
        calls++;
        throw ec2Error('RequestLimitExceeded', 503);
      }, { timer }),
    ).rejects.toThrow('RequestLimitExceeded');
    expect(calls).toBe(DEFAULT_RETRY_POLICY.maxAttempts);
  });
});
