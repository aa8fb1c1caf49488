import { copyFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { CloudTrailRecord } from '@opentrail/cloudtrail';
import { startService } from '../helpers/service.js';
import { waitFor } from '../helpers/wait.js';
import { ACCOUNT, alerterEnv, alerterStage, at, tempRulesDir, waitForCommitted } from './helpers.js';
import { cleanupAfterEach } from '../helpers/cleanup.js';

const cleanups = cleanupAfterEach();

const SIGMAHQ = new URL('../../packages/rules/test/fixtures/sigmahq-cloudtrail/', import.meta.url);

/** Filter patterns an operator could write: a wildcard selector, and one with many stars. */
const FILTER_RULES = `id: any-security-group-opens-ssh
title: A security group rule opens port 22
severity: high
filterPattern: '{ $.eventName = AuthorizeSecurityGroupIngress && $.requestParameters.ipPermissions.items[*].fromPort = 22 }'
---
id: many-stars
title: A user agent with a long pattern
severity: low
filterPattern: '{ $.userAgent = "*a*a*a*a*a*b*" }'
`;

function call(eventID: string, seconds: number, fields: CloudTrailRecord): CloudTrailRecord {
  return {
    eventVersion: '1.08',
    eventID,
    eventTime: at(seconds),
    eventType: 'AwsApiCall',
    eventCategory: 'Management',
    managementEvent: true,
    userAgent: 'aws-cli/2.15',
    userIdentity: { type: 'IAMUser', arn: `arn:aws:iam::${ACCOUNT}:user/${eventID}`, accountId: ACCOUNT, userName: eventID },
    ...fields,
  };
}

describe('alerter pattern semantics (a real process on the real stack)', () => {
  it("SigmaHQ's rules match arrays element-wise, wildcard selectors work, and a hostile value neither stalls nor alerts", async () => {
    const { prefix, kafka, topics, writer, alerts } = await alerterStage(cleanups, 'alerter-pat');
    const rules = tempRulesDir(cleanups);
    for (const file of ['aws_new_lambda_layer_attached.yml', 'aws_ec2_startup_script_change.yml']) copyFileSync(new URL(file, SIGMAHQ), join(rules.dir, file));
    writeFileSync(join(rules.dir, 'patterns.yml'), FILTER_RULES);

    const alerter = await startService('alerter', alerterEnv(prefix, { OPENTRAIL_ALERTER_BUILTIN_PACKS: 'none', OPENTRAIL_ALERTER_RULE_DIRECTORIES: rules.dir }));
    cleanups.push(() => alerter.stop().then(() => undefined));
    expect(await alerter.metric('opentrail_alerter_rule_file_problems')).toBe(0);

    const lambda = (layers: string[]) => ({ eventSource: 'lambda.amazonaws.com', eventName: 'UpdateFunctionConfiguration20150331v2', requestParameters: { functionName: 'billing', layers } });
    const ec2Attribute = (attribute: unknown) => ({ eventSource: 'ec2.amazonaws.com', eventName: 'ModifyInstanceAttribute', requestParameters: { instanceId: 'i-0abc', attribute } });
    const ingress = (ports: number[]) => ({ eventSource: 'ec2.amazonaws.com', eventName: 'AuthorizeSecurityGroupIngress', requestParameters: { groupId: 'sg-1', ipPermissions: { items: ports.map((p) => ({ ipProtocol: 'tcp', fromPort: p, toPort: p })) } } });
    await writer.write([
      call('layers-removed', 0, lambda([])),
      call('layer-attached', 1, lambda(['arn:aws:lambda:us-east-1:999988887777:layer:x:1'])),
      call('userdata-in-array', 2, ec2Attribute(['userData'])),
      call('other-attribute', 3, ec2Attribute(['instanceType'])),
      call('https-only', 4, ingress([443])),
      call('ssh-among-others', 5, ingress([443, 22])),
      // 200 000 characters that the old backtracking matcher would have explored for ~10^19 years.
      call('hostile-agent', 6, { eventSource: 's3.amazonaws.com', eventName: 'ListBuckets', userAgent: 'a'.repeat(200_000) }),
      call('matching-agent', 7, { eventSource: 's3.amazonaws.com', eventName: 'ListBuckets', userAgent: 'xaxaxaxaxaxbx' }),
    ]);
    await waitFor(async () => (await alerts.values()).length >= 4, 'the alerts');
    await waitForCommitted(kafka, `${prefix}alerter`, topics.enriched);
    const sent = await alerts.values();
    expect(sent.map((a) => [a.title, a.eventIds]).sort()).toEqual(
      [
        ['A security group rule opens port 22', ['ssh-among-others']],
        ['A user agent with a long pattern', ['matching-agent']],
        ['AWS EC2 Startup Shell Script Change', ['userdata-in-array']],
        ['AWS New Lambda Layer Attached', ['layer-attached']],
      ].sort(),
    );
    expect(await alerter.metric('opentrail_alerter_rule_errors_total')).toBe(0);
  });
});
