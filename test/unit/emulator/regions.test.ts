import { isRegionName, regionDataDir, regionOfRequest, Regions, type EmulatedRegion } from '../../../local/emulator/regions';

const SIGNED = (scope: string): string =>
  `AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261201/${scope}/aws4_request, SignedHeaders=host;x-amz-date, Signature=abc`;

describe('regionOfRequest', () => {
  it.each([
    ['the EBS scope', SIGNED('us-west-2/ebs'), 'us-west-2'],
    ['the EC2 scope', SIGNED('eu-central-1/ec2'), 'eu-central-1'],
    ['a GovCloud Region', SIGNED('us-gov-west-1/ebs'), 'us-gov-west-1'],
    ['no Authorization header', undefined, undefined],
    ['a header without a credential scope', 'Bearer token', undefined],
    ['a scope naming no Region', SIGNED('local/ebs'), undefined],
    ['a scope naming a path', SIGNED('..%2F..%2Fetc/ebs'), undefined],
  ])('reads %s', (_name, authorization, expected) => {
    // Act
    const region = regionOfRequest(authorization === undefined ? {} : { authorization }, new URLSearchParams());

    // Assess
    expect(region).toBe(expected);
  });

  it('reads the X-Amz-Credential of a presigned URL', () => {
    // Act
    const region = regionOfRequest({}, new URLSearchParams({ 'X-Amz-Credential': 'AKID/20261201/ap-southeast-2/ebs/aws4_request' }));

    // Assess
    expect(region).toBe('ap-southeast-2');
  });
});

describe('isRegionName', () => {
  it.each(['us-east-1', 'eu-west-3', 'ap-northeast-1', 'il-central-1'])('accepts %s', (name) => {
    expect(isRegionName(name)).toBe(true);
  });

  it.each(['', 'local', 'us-east', 'US-EAST-1', 'us-east-1/..', '../us-east-1'])('refuses %j', (name) => {
    expect(isRegionName(name)).toBe(false);
  });
});

describe('regionDataDir', () => {
  it('keeps the default Region at the top of the data directory and the others under regions/', () => {
    expect(regionDataDir('/d', 'us-east-1', 'us-east-1')).toBe('/d');
    expect(regionDataDir('/d', 'us-west-2', 'us-east-1')).toBe('/d/regions/us-west-2');
    expect(regionDataDir(undefined, 'us-west-2', 'us-east-1')).toBeUndefined();
  });
});

describe('Regions', () => {
  function fakeRegion(name: string): EmulatedRegion {
    return { name, store: {} as EmulatedRegion['store'], tokens: {} as EmulatedRegion['tokens'], close: async () => undefined };
  }

  it('opens a Region once, even for concurrent first requests, and lists the default first', async () => {
    // Prepare
    const opened: string[] = [];
    const regions = new Regions('us-east-1', async (name) => {
      opened.push(name);
      return fakeRegion(name);
    });

    // Act
    const [a, b] = await Promise.all([regions.get('eu-west-1'), regions.get('eu-west-1')]);
    await regions.get();

    // Assess
    expect(a).toBe(b);
    expect(opened).toEqual(['eu-west-1', 'us-east-1']);
    expect(regions.names()).toEqual(['us-east-1', 'eu-west-1']);
  });

  it('tries again after a failed opening', async () => {
    // Prepare
    let attempts = 0;
    const regions = new Regions('us-east-1', async (name) => {
      attempts += 1;
      if (attempts === 1) throw new Error('disk full');
      return fakeRegion(name);
    });

    // Act
    const first = await regions.get('us-west-2').catch((error: unknown) => error);
    const second = await regions.get('us-west-2');

    // Assess
    expect(first).toBeInstanceOf(Error);
    expect(second.name).toBe('us-west-2');
    expect(attempts).toBe(2);
  });
});
