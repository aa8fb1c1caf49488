import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { HELP, parseTrailsArguments, SUBCOMMANDS, tagArgument } from '../src/trails/trailArguments.js';
import { render, statusTable, trailListTable } from '../src/trails/trailOutput.js';

const call = (argv: string[]) => {
  const r = parseTrailsArguments(argv);
  if (r.kind !== 'call') throw new Error(`expected a call, got help`);
  return r;
};

describe('opentrail trails arguments', () => {
  it('reads create with the AWS CLI option names, negations and tags', () => {
    const r = call(['create', 'main', '--s3-bucket-name', 'logs', '--s3-key-prefix', 'p/q', '--is-multi-region-trail', '--no-include-global-service-events', '--enable-log-file-validation', '--kms-key-id', 'alias/k', '--sns-topic-name', 'arn:aws:sns:us-east-1:111122223333:t', '--tag', 'team=sec', '--tag', 'empty=', '--tag', 'k=a=b', '--region', 'eu-west-1', '--endpoint-url', 'http://api:1', '--output', 'json']);
    expect(r).toEqual({
      kind: 'call',
      subcommand: 'create',
      operation: 'CreateTrail',
      input: { Name: 'main', S3BucketName: 'logs', S3KeyPrefix: 'p/q', SnsTopicName: 'arn:aws:sns:us-east-1:111122223333:t', KmsKeyId: 'alias/k', IncludeGlobalServiceEvents: false, IsMultiRegionTrail: true, EnableLogFileValidation: true, TagsList: [{ Key: 'team', Value: 'sec' }, { Key: 'empty', Value: '' }, { Key: 'k', Value: 'a=b' }] },
      format: 'json',
      target: { endpoint: 'http://api:1', region: 'eu-west-1' },
    });
  });

  it('maps every subcommand to its operation; the name positional or --name', () => {
    expect(call(['update', '--name', 'main', '--no-is-multi-region-trail', '--cloud-watch-logs-role-arn', 'arn:r']).input).toEqual({ Name: 'main', IsMultiRegionTrail: false, CloudWatchLogsRoleArn: 'arn:r' });
    expect(call(['delete', 'main']).operation).toBe('DeleteTrail');
    expect(call(['start', 'main']).operation).toBe('StartLogging');
    expect(call(['stop', 'arn:aws:cloudtrail:us-east-1:111122223333:trail/main'])).toMatchObject({ operation: 'StopLogging', input: { Name: 'arn:aws:cloudtrail:us-east-1:111122223333:trail/main' } });
    expect(call(['status', 'main'])).toMatchObject({ operation: 'GetTrailStatus', input: { Name: 'main' }, format: 'table' });
    expect(call(['list'])).toMatchObject({ operation: 'DescribeTrails', input: {} });
    expect(call(['list', 'a', 'b', '--no-shadow-trails']).input).toEqual({ trailNameList: ['a', 'b'], includeShadowTrails: false });
  });

  it('takes the endpoint and region from the environment when not given', () => {
    const saved = { url: process.env.OPENTRAIL_API_URL, region: process.env.AWS_REGION };
    process.env.OPENTRAIL_API_URL = 'http://from-env:9';
    process.env.AWS_REGION = 'ap-south-1';
    try {
      expect(call(['list']).target).toEqual({ endpoint: 'http://from-env:9', region: 'ap-south-1' });
    } finally {
      for (const [k, v] of [['OPENTRAIL_API_URL', saved.url], ['AWS_REGION', saved.region]] as const) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
    }
  });

  it('answers help for the command and each subcommand', () => {
    expect(parseTrailsArguments([])).toEqual({ kind: 'help', text: HELP.trails });
    expect(parseTrailsArguments(['--help'])).toEqual({ kind: 'help', text: HELP.trails });
    for (const s of SUBCOMMANDS) expect(parseTrailsArguments([s, '-h'])).toEqual({ kind: 'help', text: HELP[s] });
  });

  it('refuses what cannot be meant, naming the mistake', () => {
    const refused = (argv: string[]) => {
      try {
        parseTrailsArguments(argv);
      } catch (err) {
        return (err as Error).message;
      }
      return 'accepted';
    };
    expect(refused(['launch'])).toMatch(/^unknown subcommand "launch"/);
    expect(refused(['create', 'main'])).toBe('create needs --s3-bucket-name');
    expect(refused(['update', 'main'])).toBe('update needs at least one setting to change');
    expect(refused(['status'])).toBe('name the trail: NAME or --name NAME');
    expect(refused(['status', 'a', 'b'])).toBe('one trail at a time; got 2 names');
    expect(refused(['status', 'a', '--name', 'b'])).toBe('name the trail once: NAME or --name NAME');
    expect(refused(['status', 'a', '--s3-bucket-name', 'x'])).toMatch(/Unknown option '--s3-bucket-name'/);
    expect(refused(['delete', 'a', '--tag', 'x=y'])).toMatch(/Unknown option '--tag'/);
    expect(refused(['create', 'a', '--s3-bucket-name', 'b', '--tag', '=v'])).toBe('--tag "=v": expected KEY=VALUE');
    expect(refused(['list', '--output', 'yaml'])).toBe('--output must be table or json');
  });

  it('reads any KEY=VALUE tag back exactly', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1 }).filter((k) => !k.includes('=')), fc.string(), (key, value) => {
        expect(tagArgument(`${key}=${value}`)).toEqual({ Key: key, Value: value });
      }),
    );
  });
});

describe('opentrail trails output', () => {
  it('lists trails as a table, and says when there are none', () => {
    const text = trailListTable([{ Name: 'main', HomeRegion: 'us-east-1', S3BucketName: 'logs', S3KeyPrefix: 'p', IsMultiRegionTrail: true, IsOrganizationTrail: false, LogFileValidationEnabled: true, TrailARN: 'arn:aws:cloudtrail:us-east-1:111122223333:trail/main' }]);
    expect(text.split('\n')[0]).toMatch(/^NAME\s+HOME REGION\s+S3 BUCKET\/PREFIX\s+MULTI-REGION\s+ORGANIZATION\s+VALIDATION\s+ARN$/);
    expect(text.split('\n')[1]).toMatch(/^main\s+us-east-1\s+logs\/p\s+yes\s+no\s+yes\s+arn:aws:cloudtrail:us-east-1:111122223333:trail\/main$/);
    expect(trailListTable([])).toBe('no trails\n');
  });

  it('shows status times as ISO-8601, and never prints control characters', () => {
    const text = statusTable({ IsLogging: false, StopLoggingTime: 1_765_083_600.908, LatestDeliveryError: 'AccessDenied\u001b[2J', TimeLoggingStopped: '2025-12-07T05:00:00Z' });
    expect(text).toBe('IsLogging            no\nStopLoggingTime      2025-12-07T05:00:00Z\nLatestDeliveryError  AccessDenied?[2J\n');
    expect(render('start', { Name: 'a\u0007b' }, {}, 'table')).toBe('logging started: a?b\n');
    expect(render('status', { Name: 'x' }, { IsLogging: true }, 'json')).toBe('{\n  "IsLogging": true\n}\n');
  });
});
