import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { startService } from '../helpers/service.js';
import { waitFor } from '../helpers/wait.js';
import { ACCOUNT, alerterEnv, alerterStage, at, tempRulesDir, waitForCommitted } from './helpers.js';
import { cleanupAfterEach } from '../helpers/cleanup.js';

const cleanups = cleanupAfterEach();

/** A rule in SigmaHQ's layout (every metadata field SigmaHQ rules carry), as an operator would drop it in. */
const SIGMA_RULE = `title: AWS Lambda Layer Attached From Outside The Organisation
id: 3f0c8a52-9a51-4c55-a2a8-1a6c1f7d2e90
status: test
description: |
    A Lambda layer was attached by a principal whose user agent is not the deployment pipeline.
references:
    - https://docs.aws.amazon.com/lambda/latest/dg/API_UpdateFunctionConfiguration.html
author: opentrail tests
date: 2026-03-01
modified: 2026-03-01
tags:
    - attack.privilege-escalation
logsource:
    product: aws
    service: cloudtrail
    category: management
detection:
    selection:
        eventSource: lambda.amazonaws.com
        eventName|startswith: 'UpdateFunctionConfiguration'
        requestParameters|contains: 'layers'
    filter_main_pipeline:
        userAgent|contains: 'CODEPIPELINE'
    condition: selection and not 1 of filter_main_*
fields:
    - requestParameters.functionName
falsepositives:
    - Administrators attaching layers by hand
level: high
`;

/** A SigmaHQ rule with a deprecated aggregation: refused with the reason, the others still run. */
const UNSUPPORTED_RULE = `title: AWS Secrets Read In Bulk
id: 0b6a1c4e-5d2f-4e7a-9c3b-2f8e6d1a7b40
status: experimental
logsource:
    product: aws
    service: cloudtrail
detection:
    selection:
        eventSource: secretsmanager.amazonaws.com
        eventName: GetSecretValue
    condition: selection | count() by userIdentity.arn > 20
level: high
`;

function layerUpdate(eventID: string, seconds: number, userAgent: string) {
  return {
    eventVersion: '1.08',
    eventID,
    eventTime: at(seconds),
    eventSource: 'lambda.amazonaws.com',
    eventName: 'UpdateFunctionConfiguration20150331v2',
    eventType: 'AwsApiCall',
    eventCategory: 'Management',
    managementEvent: true,
    userAgent,
    requestParameters: { functionName: 'billing', layers: ['arn:aws:lambda:us-east-1:999988887777:layer:x:1'] },
    userIdentity: { type: 'IAMUser', arn: `arn:aws:iam::${ACCOUNT}:user/${eventID}`, accountId: ACCOUNT, userName: eventID },
  };
}

describe('alerter Sigma rules (a real process on the real stack)', () => {
  it('runs a SigmaHQ-format rule dropped into a rule directory and refuses an unsupported one, naming file, line and reason', async () => {
    const { prefix, kafka, topics, writer, alerts } = await alerterStage(cleanups, 'alerter-sig');
    const rules = tempRulesDir(cleanups);
    writeFileSync(join(rules.dir, 'aws_lambda_layer_attached.yml'), SIGMA_RULE);
    writeFileSync(join(rules.dir, 'aws_secrets_bulk.yml'), UNSUPPORTED_RULE);

    const alerter = await startService('alerter', alerterEnv(prefix, { OPENTRAIL_ALERTER_BUILTIN_PACKS: 'none', OPENTRAIL_ALERTER_RULE_DIRECTORIES: rules.dir }));
    cleanups.push(() => alerter.stop().then(() => undefined));

    const refused = alerter.logs().find((l) => typeof l.file === 'string' && l.file.endsWith('aws_secrets_bulk.yml'));
    expect(refused).toMatchObject({ level: 'error', line: 11, problem: expect.stringContaining("aggregation expressions ('| count() by …') are deprecated in Sigma and not supported") });
    expect(await alerter.metric('opentrail_alerter_rules_loaded', { kind: 'SIGMA' })).toBe(1);
    expect(await alerter.metric('opentrail_alerter_rule_file_problems')).toBe(1);

    // The pipeline's own change (filtered, case-insensitively) and a layer update by a person.
    await writer.write([layerUpdate('pipeline', 0, 'codepipeline.amazonaws.com'), layerUpdate('mallory', 5, 'aws-cli/2.15')]);
    await waitFor(async () => (await alerts.values()).length >= 1, 'the Sigma alert');
    await waitForCommitted(kafka, `${prefix}alerter`, topics.enriched);
    const sent = await alerts.values();
    expect(sent.map((a) => [a.ruleId, a.ruleKind, a.severity, a.title, a.eventIds])).toEqual([
      ['3f0c8a52-9a51-4c55-a2a8-1a6c1f7d2e90', 'SIGMA', 'HIGH', 'AWS Lambda Layer Attached From Outside The Organisation', ['mallory']],
    ]);
    expect(sent[0]!.tags).toEqual(['attack.privilege-escalation']);
  });
});
