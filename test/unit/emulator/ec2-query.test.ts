import { Ec2ApiError } from '../../../local/emulator/ec2/errors';
import { filters, globMatch, list, matchesFilters, tags, tagSpecifications } from '../../../local/emulator/ec2/query';
import { decodeBlockRanges, encodeBlockRanges } from '../../../local/emulator/ec2/records';

describe('EC2 Query parameters', () => {
  describe('list', () => {
    it('returns numbered values in numeric order, not text order', () => {
      // Prepare
      const params = new URLSearchParams('VolumeId.10=vol-c&VolumeId.2=vol-b&VolumeId.1=vol-a&Other.1=x');

      // Act
      const values = list(params, 'VolumeId');

      // Assess
      expect(values).toEqual(['vol-a', 'vol-b', 'vol-c']);
    });
  });

  describe('filters', () => {
    it('reads names and their values', () => {
      // Prepare
      const params = new URLSearchParams('Filter.1.Name=tag:a&Filter.1.Value.1=x&Filter.1.Value.2=y&Filter.2.Name=volume-id&Filter.2.Value.1=vol-1');

      // Act
      const parsed = filters(params);

      // Assess
      expect(parsed).toEqual([{ name: 'tag:a', values: ['x', 'y'] }, { name: 'volume-id', values: ['vol-1'] }]);
    });
  });

  describe('tagSpecifications', () => {
    it('keeps the tags of the requested resource type and rejects another type', () => {
      // Prepare
      const params = new URLSearchParams('TagSpecification.1.ResourceType=snapshot&TagSpecification.1.Tag.1.Key=k&TagSpecification.1.Tag.1.Value=v');

      // Act
      const found = tagSpecifications(params, 'snapshot');
      const wrongType = (): unknown => tagSpecifications(params, 'volume');

      // Assess
      expect(found).toEqual([{ Key: 'k', Value: 'v' }]);
      expect(wrongType).toThrow(Ec2ApiError);
    });
  });

  describe('tags', () => {
    it('gives a tag without a value the empty string, as EC2 does', () => {
      // Act
      const parsed = tags(new URLSearchParams('Tag.1.Key=only-key'));

      // Assess
      expect(parsed).toEqual([{ Key: 'only-key', Value: '' }]);
    });
  });

  describe('globMatch', () => {
    it.each([
      ['vol-*', 'vol-123', true],
      ['vol-?', 'vol-12', false],
      ['a.b', 'axb', false],
      ['100\\*', '100*', true],
      ['100\\*', '1000', false],
      ['*', '', true],
    ])('matches %s against %s → %s', (pattern, value, expected) => {
      // Act
      const matched = globMatch(pattern, value);

      // Assess
      expect(matched).toBe(expected);
    });
  });

  describe('matchesFilters', () => {
    it('ANDs filters, ORs values and rejects unknown names', () => {
      // Prepare
      const resourceTags = [{ Key: 'team', Value: 'blue' }];
      const attribute = (name: string): string[] | undefined => (name === 'status' ? ['available'] : undefined);

      // Act
      const both = matchesFilters([{ name: 'status', values: ['in-use', 'available'] }, { name: 'tag:team', values: ['b*'] }], resourceTags, attribute);
      const oneFails = matchesFilters([{ name: 'status', values: ['available'] }, { name: 'tag-value', values: ['red'] }], resourceTags, attribute);
      const unknown = (): unknown => matchesFilters([{ name: 'colour', values: ['x'] }], resourceTags, attribute);

      // Assess
      expect(both).toBe(true);
      expect(oneFails).toBe(false);
      expect(unknown).toThrow(expect.objectContaining({ code: 'InvalidParameterValue' }));
    });
  });
});

describe('block ranges', () => {
  describe('encodeBlockRanges', () => {
    it('compresses runs and round-trips through decodeBlockRanges', () => {
      // Prepare
      const blocks = [9, 1, 2, 3, 7, 10, 11];

      // Act
      const ranges = encodeBlockRanges(blocks);

      // Assess
      expect(ranges).toEqual([[1, 3], [7, 1], [9, 3]]);
      expect(decodeBlockRanges(ranges)).toEqual([...blocks].sort((a, b) => a - b));
    });
  });
});
