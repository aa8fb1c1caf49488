/**
 * Sample queries for the Lake page: a selection of AWS's published CloudTrail Lake samples, their
 * text copied verbatim (comments, spacing and trailing `;` included) with the placeholder each file
 * writes after FROM for the event data store ID. `sampleStatement` puts a store ID there.
 *
 * Source: https://github.com/aws-samples/cloud-trail-lake-query-samples (MIT-0), which the CloudTrail
 * User Guide links to from "View sample queries with the CloudTrail console"
 * (https://docs.aws.amazon.com/awscloudtrail/latest/userguide/query-lake-examples.html), at commit
 * bf9dafca6cd8c8d089dd41e4886eedb71144f62e: the same files (and commit) as
 * packages/lake/test/sql/sampleQueries.ts, whose tests check that each one parses as Lake SQL.
 * Several filter on dates of 2022 or 2023 as published: edit the range to see recent events.
 */
export interface LakeSample {
  /** The file in the repository. */
  readonly file: string;
  /** What the query shows, for the picker. */
  readonly title: string;
  /** The file on GitHub, at the commit copied. */
  readonly source: string;
  /** What the file writes after FROM where the event data store ID goes. */
  readonly placeholder: string;
  /** The file's text, verbatim. */
  readonly text: string;
}

const COMMIT = 'bf9dafca6cd8c8d089dd41e4886eedb71144f62e';
const source = (file: string): string => `https://github.com/aws-samples/cloud-trail-lake-query-samples/blob/${COMMIT}/${encodeURIComponent(file)}`;

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** `text` with `id` wherever one of `names` (a placeholder, a previous store ID) follows FROM: nowhere else. */
export function substituteStore(text: string, names: readonly string[], id: string): string {
  let out = text;
  for (const name of names) {
    if (!name || name === id) continue;
    out = out.replace(new RegExp(`(\\bFROM\\s+)${escapeRegExp(name)}(?![\\w-])`, 'gi'), (_match, from: string) => `${from}${id}`);
  }
  return out;
}

/** A sample's statement for a store (or with its placeholder, when no store is picked). */
export function sampleStatement(sample: LakeSample, id: string | undefined): string {
  return id ? substituteStore(sample.text, [sample.placeholder], id) : sample.text;
}

export const LAKE_SAMPLES: readonly LakeSample[] = [
  {
    file: 'top-iam-actions-by-principal.sql',
    title: 'Top IAM actions by principal',
    source: source('top-iam-actions-by-principal.sql'),
    placeholder: '<event_data_store_id>',
    text: `/* This query identifies the top callers of the AWS IAM service based on their number of API calls. It
   can help you identity which principals are calling IAM the most and if these principals may be close 
   to service limits.
    
    To use this query, Replace <EDS ID> with your Event Data Store Id.
*/


SELECT
	COUNT(*) AS apiCount, eventName, recipientAccountId, userIdentity.principalid
FROM
	<event_data_store_id> 
WHERE
	userIdentity.principalid IS NOT NULL AND eventTime >= '2022-01-08 00:00:00'
    AND
	    eventSource='iam.amazonaws.com'
GROUP BY
	eventName, recipientAccountId, userIdentity.principalid
ORDER BY
	apiCount DESC
`,
  },
  {
    file: 'tag-history-by-resource.sql',
    title: 'Tag history by resource',
    source: source('tag-history-by-resource.sql'),
    placeholder: '$EDS_ID',
    text: `/* This query returns tag history for resources.
Replace <EDS ID> with your Event Data Store Id number.
*/

SELECT
    awsRegion, eventSource, json_extract_scalar(eventjson, '$.requestParameters.resourcesSet.items[0].resourceId' 
    ) as resourceId, eventTime, eventName, json_extract_scalar(eventjson, '$.requestParameters.tagSet.items[0].key' 
    ) as key, json_extract_scalar(eventjson, '$.requestParameters.tagSet.items[0].value' 
    ) as value, useridentity.arn as identityarn 
from
    $EDS_ID 
where
    eventTime > '2022-01-01 00:00:00'  
    and eventName in ('CreateTags','DeleteTags' 
    )order by resourceId,key,eventTime desc`,
  },
  {
    file: 'logs-by-region.sql',
    title: 'Services used per region',
    source: source('logs-by-region.sql'),
    placeholder: '$EDS_ID',
    text: `/* This query returns summary of regions in use and well as what services are used in these regions.
Replace <EDS ID> with your Event Data Store Id number.
*/

SELECT
    awsRegion, eventSource, COUNT(*  
    ) AS apiCount 
FROM
    $EDS_ID 
WHERE
    eventTime > '2022-04-23 00:00:00'  
    AND eventTime < '2022-11-26 00:00:00' 
GROUP
    BY awsRegion, eventSource ORDER BY apiCount DESC`,
  },
  {
    file: 'iam-access-key-success-activity.sql',
    title: 'Successful activity of an IAM access key',
    source: source('iam-access-key-success-activity.sql'),
    placeholder: '<EDS ID>',
    text: `/* 
This query obtain successful activity performed by IAM user access key during specific window time grouped by AWS services and API.
Replace <EDS ID> with your Event Data Store Id number and the <AKIAIOSFODNN7EXAMPLE> with the IAM user access keys.
*/

SELECT count (*) as NumberEvents, eventSource, eventName
FROM <EDS ID>
WHERE eventTime > '2023-01-01 00:00:00' AND eventTime < '2023-01-07 00:00:00'
AND userIdentity.accessKeyId = 'AKIAIOSFODNN7EXAMPLE'
AND errorcode IS NULL
GROUP by eventSource, eventName
order by NumberEvents desc;
`,
  },
  {
    file: 'cross-account-access.sql',
    title: 'Cross-account access',
    source: source('cross-account-access.sql'),
    placeholder: '$EDS_ID',
    text: `/* This query returns results where cross-account access was granted. 
Replace <EDS ID> with your Event Data Store Id number.
*/


SELECT
    userIdentity.principalid, eventName, eventSource, userIdentity.accountId, recipientAccountId, requestParameters, eventTime
FROM
    $EDS_ID 
WHERE
    eventTime > '2022-04-30 00:00:00'  
    AND eventTime < '2022-06-01 00:00:00'  
    AND userIdentity.accountId != recipientAccountId`,
  },
  {
    file: 'console-login-with-no-mfa.sql',
    title: 'Console sign-ins without MFA',
    source: source('console-login-with-no-mfa.sql'),
    placeholder: '$EDS_ID',
    text: `/* This query returns console logins with no MFA. 
Replace <EDS ID> with your Event Data Store Id number.
*/

SELECT
    *
FROM
    $EDS_ID 
WHERE
    eventsource = 'signin.amazonaws.com'  
    AND eventname = 'ConsoleLogin'  
    AND Element_at(additionaleventdata, 'MFAUsed' 
    ) = 'No'`,
  },
  {
    file: 'SelfAssumeRole.sql',
    title: 'Roles assuming themselves',
    source: source('SelfAssumeRole.sql'),
    placeholder: '<event_data_store_id>',
    text: `/* This query identifies roles that are assuming themselves.

Roles assuming themselves are typically the result of unnecessary operations in code
Self assume role events count towards the STS quota.
    
    To use this query, Replace <event_data_store_id> with your Event Data Store Id.
*/


SELECT
    eventid, eventtime, userIdentity.sessioncontext.sessionissuer.arn as RoleARN, userIdentity.principalId as RoleIdColonRoleSessionName 
from
    <event_data_store_id> 
where
    eventSource = 'sts.amazonaws.com' 
    and eventName = 'AssumeRole' 
    and userIdentity.type = 'AssumedRole' 
    and errorcode IS NULL 
    and userIdentity.sessioncontext.sessionissuer.arn = element_at(resources,1
    ).arn
`,
  },
  {
    file: 'list-all-manually-created-resources.sql',
    title: 'Resources created outside CloudFormation',
    source: source('list-all-manually-created-resources.sql'),
    placeholder: '<EDS ID>',
    text: `/*This query gets a list of all resources that have been created manually (i.e outside of CloudFormation or via set list of CI/CD users), along with details on the action taken. 
Replace <EDS ID> with your Event Data Store Id number.*/

SELECT
    userIdentity.arn AS user, userIdentity, eventTime, eventSource, eventName, awsRegion, requestParameters, resources, requestID, eventID
FROM
    <EDS ID>
WHERE
    (eventName LIKE '%Create%' 
        OR eventName LIKE '%Update%' 
        OR eventName LIKE '%Put%' 
        OR eventName LIKE '%Delete%'
    )
    AND resources IS NOT NULL
    AND userIdentity.sessioncontext.sessionissuer.username NOT LIKE 'AWSServiceRole%'
    AND userIdentity.sessioncontext.sessionissuer.username NOT IN (''
    )
    AND sourceIpAddress != 'cloudformation.amazonaws.com'ORDER BY eventTime DESC`,
  },
  {
    file: 'ec2-public-security-group.sql',
    title: 'Security groups opened to 0.0.0.0/0',
    source: source('ec2-public-security-group.sql'),
    placeholder: '<event_data_store_id>',
    text: `/*

This query returns ec2 security groups with rules that allow public (0.0.0.0/0) access. This query is useful
when you are trying to audit and investigate security groups allowing public access.

Notice that there are two queries below that are being combined using the "UNION ALL" clause. 

The first query pulls the AuthorizeSecurityGroupIngress events (for newly created security group rules).
The 2nd query pulls the ModifySecurityGroupRulesRequest (for modification on security group rules).

*/

-- This part of the query returns AuthorizeSecurityGroupIngress events
SELECT
    eventName,
    userIdentity.arn AS user,
    sourceIPAddress,
    eventTime,
    eventSource,
    element_at(requestParameters, 'groupId') AS securityGroup,
    element_at(requestParameters, 'ipPermissions') AS securityGroupRule
FROM
    <event_data_store_id>
WHERE
    eventTime >= '2023-07-06 00:00:00'
    AND eventTime <= '2023-07-08 00:00:00'
    AND eventName = 'AuthorizeSecurityGroupIngress'    
    AND element_at(requestParameters, 'ipPermissions') LIKE '%0.0.0.0/0%' -- this filter is used to find security group changes with public rules.

UNION ALL

-- This part of the query returns ModifySecurityGroupRulesRequest events
SELECT
    eventName,
    userIdentity.arn AS user,
    sourceIPAddress,
    eventTime,
    eventSource,
    json_extract_scalar(element_at(requestParameters, 'ModifySecurityGroupRulesRequest'), '$.GroupId') securityGroup,
    element_at(requestParameters, 'ModifySecurityGroupRulesRequest') securityGroupRule    
FROM
    <event_data_store_id>
WHERE
	eventTime >= '2023-07-06 00:00:00'
    AND eventTime <= '2023-07-09 00:00:00'
	AND eventName = 'ModifySecurityGroupRules'
    AND element_at(requestParameters, 'ModifySecurityGroupRulesRequest') LIKE '%0.0.0.0/0%'  -- this filter is used to find security group changes with public rules.
ORDER
    BY eventTime DESC`,
  },
  {
    file: 's3-buckets-using-acls.sql',
    title: 'S3 buckets relying on ACLs',
    source: source('s3-buckets-using-acls.sql'),
    placeholder: '<EDS_ID>',
    text: `/* This query identifies buckets across an Organization with requests that rely on ACLs. This can help when migrating away from legacy ACLs to IAM Policies.

Replace <EDS ID> with your Event Data Store ID number.
*/

SELECT DISTINCT
    element_at(requestParameters, 'bucketName') AS Bucket,
    awsRegion AS Region,
    recipientAccountId AS AccountID
FROM
    <EDS_ID> 
WHERE
    element_at(additionalEventData, 'aclRequired') = 'Yes'
ORDER BY
    recipientAccountId,
    awsRegion`,
  },
  {
    file: 'user-added-to-admin-group.sql',
    title: 'Users added to an admin group',
    source: source('user-added-to-admin-group.sql'),
    placeholder: '$EDS_ID',
    text: `/* This query returns when some user was made admin and who did it (added to any groups with name containing word ‘admin’). Helps identifying privilege escalation related issues.
Replace <EDS ID> with your Event Data Store Id number.
*/

SELECT
    userIdentity.principalid, eventName, eventTime, element_at(requestParameters,'userName'  
    ) AS username, element_at(requestParameters,'groupName'  
    ) AS groupname
FROM
    $EDS_ID
WHERE
    eventTime > '2022-04-30 00:00:00'  
    AND eventTime < '2022-11-01 00:00:00'  
    AND eventName = 'AddUserToGroup'  
    AND element_at(requestParameters,'groupName'  
    ) like '%admin%'`,
  },
];
