import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { normalizeAccessLevel, readOnlyOf, serviceKeyCandidates, ServiceClassifier } from '../src/serviceClassification.js';
import { asEvent, callRecord } from './records.js';

describe('ServiceClassifier', () => {
  const cases: [string, string, string | null, string | null, boolean | null][] = [
    ['s3.amazonaws.com', 'GetObject', 's3', 'Read', true],
    ['s3.amazonaws.com', 'ListObjectsV2', 's3', 'List', true],
    ['s3.amazonaws.com', 'ListBuckets', 's3', 'List', true],
    ['s3.amazonaws.com', 'HeadObject', 's3', 'Read', true],
    ['s3.amazonaws.com', 'PutObject', 's3', 'Write', false],
    ['s3.amazonaws.com', 'PutObjectTagging', 's3', 'Tagging', false],
    ['iam.amazonaws.com', 'AttachRolePolicy', 'iam', 'Permissions management', false],
    ['iam.amazonaws.com', 'ListUsers', 'iam', 'List', true],
    ['ec2.amazonaws.com', 'DescribeInstances', 'ec2', 'List', true],
    ['monitoring.amazonaws.com', 'GetMetricData', 'cloudwatch', 'Read', true],
    ['email.amazonaws.com', 'SendEmail', 'ses', 'Write', false],
    ['lambda.amazonaws.com', 'GetFunction20150331v2', 'lambda', 'Read', true],
    ['lambda.amazonaws.com', 'Invoke', 'lambda', 'Write', false],
    ['sts.amazonaws.com', 'AssumeRole', 'sts', 'Write', false],
    // Known service, operation IAM data does not list: the verb decides readOnly.
    ['signin.amazonaws.com', 'ConsoleLogin', 'signin', null, null],
    ['s3.amazonaws.com', 'GetSomethingNew', 's3', null, true],
    // Unknown service.
    ['widgets.example.com', 'DoThing', 'widgets.example.com', null, null],
  ];

  it.each(cases)('%s %s → %s, %s, readOnly %s', async (eventSource, eventName, name, accessLevel, readOnly) => {
    const classifier = new ServiceClassifier();
    const event = asEvent(callRecord({ eventSource, eventName }));
    await classifier.prepare([event]);
    expect(classifier.classify(event)).toEqual({ name, accessLevel, readOnly });
  });

  it("prefers the record's readOnly to the derived one", async () => {
    const classifier = new ServiceClassifier();
    const event = asEvent(callRecord({ eventSource: 's3.amazonaws.com', eventName: 'GetObject', readOnly: false }));
    await classifier.prepare([event]);
    expect(classifier.classify(event)).toEqual({ name: 's3', accessLevel: 'Read', readOnly: false });
  });

  it('keeps at most maxEntries operations', async () => {
    const classifier = new ServiceClassifier(2);
    const events = ['GetObject', 'PutObject', 'DeleteObject'].map((eventName) => asEvent(callRecord({ eventSource: 's3.amazonaws.com', eventName })));
    await classifier.prepare(events);
    expect(classifier.entries).toBeLessThanOrEqual(2);
    expect(classifier.entries).toBeGreaterThan(0);
    // Starting over keeps the latest: it is still classified from IAM data.
    expect(classifier.classify(events[2]!)).toMatchObject({ name: 's3', accessLevel: 'Write', readOnly: false });
  });
});

describe('service classification helpers', () => {
  it('finds the IAM service key candidates of an eventSource', () => {
    expect(serviceKeyCandidates('s3.amazonaws.com')).toEqual(['s3']);
    expect(serviceKeyCandidates('monitoring.amazonaws.com')).toEqual(['cloudwatch']);
    expect(serviceKeyCandidates('api.ecr.amazonaws.com')).toEqual(['api.ecr', 'ecr', 'api']);
  });

  it('normalises combined access levels and derives readOnly', () => {
    expect(normalizeAccessLevel('Permissions management, Write')).toBe('Permissions management');
    expect(normalizeAccessLevel('Tagging, Write')).toBe('Tagging');
    expect(readOnlyOf('List', 'X')).toBe(true);
    expect(readOnlyOf('Tagging', 'X')).toBe(false);
    expect(readOnlyOf(null, 'DescribeThings')).toBe(true);
    expect(readOnlyOf(null, 'Getaway')).toBeNull();
  });
});

describe('ServiceClassifier: names of Object.prototype (issue 19, class 1)', () => {
  // Every member of a plain object, and `__proto__`: as eventName or eventSource prefix each is a name like any other.
  const prototypeNames = fc.constantFrom(...Object.getOwnPropertyNames(Object.prototype), 'prototype');

  it('classifies them as unknown operations, never throwing, in any service', async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom('s3', 'iam', 'lambda', 'monitoring', 'ec2'), prototypeNames, fc.boolean(), async (service, name, asSource) => {
        const classifier = new ServiceClassifier();
        const eventSource = asSource ? `${name}.amazonaws.com` : `${service}.amazonaws.com`;
        const event = asEvent(callRecord({ eventSource, eventName: name }));
        await classifier.prepare([event]);
        const classification = classifier.classify(event);
        expect(classification).toMatchObject({ accessLevel: null });
        expect(classification!.name).toBe(asSource ? name.toLowerCase() : serviceKeyCandidates(eventSource)[0]);
      }),
      { numRuns: 60 },
    );
  });

  it('still classifies the real operation of the same batch', async () => {
    const classifier = new ServiceClassifier();
    const events = ['constructor', 'GetObject', '__proto__', 'toString'].map((eventName) => asEvent(callRecord({ eventSource: 's3.amazonaws.com', eventName })));
    await classifier.prepare(events);
    expect(events.map((e) => classifier.classify(e)!.accessLevel)).toEqual([null, 'Read', null, null]);
  });
});
