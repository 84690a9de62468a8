import { isOwned, OWNER_TAG, toSdkTags, withOwnerTag } from '../../../shared/core/tags';

describe('tags', () => {
  describe('withOwnerTag', () => {
    it('puts the ownership tag first and drops a caller tag that would fake or hide it', () => {
      // Act
      const tags = withOwnerTag([{ key: OWNER_TAG.key, value: 'false' }, { key: 'team', value: 'db' }]);

      // Assess
      expect(tags).toEqual([OWNER_TAG, { key: 'team', value: 'db' }]);
    });
  });

  describe('isOwned', () => {
    it('recognises only the exact ownership tag', () => {
      // Act / Assess
      expect(isOwned(toSdkTags(withOwnerTag()))).toBe(true);
      expect(isOwned([{ Key: OWNER_TAG.key, Value: 'false' }])).toBe(false);
      expect(isOwned(undefined)).toBe(false);
    });
  });
});
