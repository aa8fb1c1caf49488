import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { changelogKey } from '../src/stateChangelog.js';

describe('changelogKey', () => {
  it('reads back whose state a changelog key names, for any group, topic, partition, kind and key', () => {
    fc.assert(
      fc.property(fc.string(), fc.string(), fc.nat({ max: 10_000 }), fc.string(), fc.string(), (group, topic, partition, kind, key) => {
        expect(changelogKey(JSON.stringify([group, topic, partition, kind, key]))).toEqual({ consumerGroup: group, sourceTopic: topic, sourcePartition: partition });
      }),
    );
  });

  it('refuses keys that are not changelog keys (keys are input), never throwing', () => {
    for (const key of ['', 'not json', '{}', '[]', '["g","t",0,"K"]', '["g","t","0","K","k"]', '["g","t",-1,"K","k"]', '["g","t",1.5,"K","k"]', '["g",1,0,"K","k"]', '["g","t",0,"K","k","extra"]', '{"__proto__":1}']) {
      expect(changelogKey(key), key).toBeUndefined();
    }
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.json()), (key) => {
        const parsed = changelogKey(key);
        if (parsed !== undefined) expect(Number.isSafeInteger(parsed.sourcePartition)).toBe(true);
      }),
    );
  });
});
