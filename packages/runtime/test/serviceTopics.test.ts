import { describe, expect, it } from 'vitest';
import { resolveTopicNames, topicCreationPlan, type TopicDeclarations } from '../src/serviceTopics.js';

const config = { topics: { prefix: 'p1.', partitions: 6, replicationFactor: 1 } };

describe('resolveTopicNames', () => {
  it('prefixes pipeline names (TOPICS) and any other name alike, and lets a configured name win', () => {
    const names = resolveTopicNames(
      {
        source: { reads: 'enriched' },
        dlq: { writes: 'notificationDeadLetters' },
        state: { table: 'digesterState', configured: undefined },
        keys: { table: 'digestKeys', configured: 'shared.keys' },
        custom: { writes: 'my.topic' },
      },
      config,
    );
    expect(names).toEqual({ source: 'p1.events.enriched', dlq: 'p1.notifications.dlq', state: 'p1.digester.state', keys: 'shared.keys', custom: 'p1.my.topic' });
  });

  it('names every state topic as the services spelled it before (`<prefix><service>.state`)', () => {
    const names = resolveTopicNames({ archiver: { table: 'archiverState' }, digester: { table: 'digesterState' }, alerter: { table: 'alerterState' }, keys: { table: 'digestKeys' } }, config);
    expect(Object.values(names)).toEqual(['p1.archiver.state', 'p1.digester.state', 'p1.alerter.state', 'p1.digester.keys']);
  });
});

describe('topicCreationPlan', () => {
  const declarations: TopicDeclarations = {
    state: { table: 'archiverState', partitions: { like: 'source' } },
    source: { reads: 'enriched' },
    keys: { table: 'digestKeys', partitions: 1 },
    trails: { reads: 'trails', ensure: false },
  };
  const names = resolveTopicNames(declarations, config);

  it('creates topics with a count of their own first, tables compacted, and skips what another package creates', () => {
    const plan = topicCreationPlan(declarations, names);
    expect(plan.first).toEqual([{ topic: 'p1.events.enriched' }, { topic: 'p1.digester.keys', compacted: true, partitions: 1 }]);
    // The state table waits for the partition count of its input topic.
    expect(plan.then).toEqual([{ spec: { topic: 'p1.archiver.state', compacted: true }, like: 'p1.events.enriched' }]);
  });

  it('refuses partitions like a topic that is not declared, or like one that copies another', () => {
    expect(() => topicCreationPlan({ state: { table: 'x', partitions: { like: 'input' } } }, { state: 'p1.x' })).toThrow('topic state: partitions like "input", which is not a declared topic');
    // Inherited names of a plain object are not topics.
    expect(() => topicCreationPlan({ state: { table: 'x', partitions: { like: 'toString' } } }, { state: 'p1.x' })).toThrow('which is not a declared topic');
    expect(() =>
      topicCreationPlan({ a: { reads: 'a' }, b: { table: 'b', partitions: { like: 'a' } }, c: { table: 'c', partitions: { like: 'b' } } }, { a: 'p1.a', b: 'p1.b', c: 'p1.c' }),
    ).toThrow('topic c: partitions like "b", which takes its own count from another topic');
  });
});
