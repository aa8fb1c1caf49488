/**
 * AWS's published CloudTrail Lake sample queries, as data: the text of each file exactly as published
 * (comments, odd spacing and trailing `;` included), with the event data store placeholder it uses.
 * `sampleStatement` puts a store ID where the placeholder follows FROM, and nowhere else.
 *
 * Source: https://github.com/aws-samples/cloud-trail-lake-query-samples (MIT-0), the repository the
 * CloudTrail User Guide links to as "CloudTrail Lake sample queries" from "View sample queries with
 * the CloudTrail console" (https://docs.aws.amazon.com/awscloudtrail/latest/userguide/query-lake-examples.html),
 * at commit bf9dafca6cd8c8d089dd41e4886eedb71144f62e.
 *
 * Left out, because they are not runnable Lake queries as published: ConfigTableCreation.sql (Athena
 * DDL) and ConfigItemCountQuery.sql (an Athena table); iam-idc-authenticate-api.sql (`FROM FROM`);
 * list-all-errors-for-s3-events.sql, list-all-events-not-in-authorized-region.sql and
 * list-publicly-accessible-rds-instances.sql (two copies of the query pasted together);
 * list-attempted-s3-requests..sql, top-errors.sql and top-s3-actions.sql (words run together:
 * `requestParametersORDER BY`, `DESCLIMIT`); the files whose time range is a `${date_filter}`
 * template (list-all-events-in-a-flatten-table-format.sql, network-activity-events*.sql,
 * tls-unsupported-version.sql); ssm-patch-compliance-selected-ec2-instance.sql (the time-range variant
 * kept here without its time range); and the one file whose name has a space. The repository's README
 * says AWS CloudTrail has not evaluated these queries; the ones kept parse as Trino SQL.
 *
 * `cloudTrailSampleQueries` read CloudTrail events; `configSampleQueries` read an AWS Config
 * configuration-item store (eventData.*), kept for grammar coverage (lambdas, window functions,
 * CAST to MAP) but not comparable with answers computed from CloudTrail log files.
 */
export interface SampleQuery {
  /** The file in the repository. */
  readonly file: string;
  readonly source: string;
  /** The placeholder the file writes after FROM for the event data store ID. */
  readonly placeholder: string;
  /** How many times the query reads the store (FROM placeholder occurrences). */
  readonly references: number;
  /** The file's text, verbatim. */
  readonly text: string;
}

const COMMIT = 'bf9dafca6cd8c8d089dd41e4886eedb71144f62e';
const source = (file: string): string => `https://github.com/aws-samples/cloud-trail-lake-query-samples/blob/${COMMIT}/${encodeURIComponent(file)}`;

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** The query with `id` in place of the placeholder wherever it follows FROM. */
export function sampleStatement(sample: SampleQuery, id: string): string {
  return sample.text.replace(new RegExp(`(\\bFROM\\s+)${escapeRegExp(sample.placeholder)}`, 'gi'), (_match, from: string) => `${from}${id}`);
}

export const cloudTrailSampleQueries: readonly SampleQuery[] = [
  {
    file: 'EstimateAmountOfConfigurationItems.sql',
    source: source('EstimateAmountOfConfigurationItems.sql'),
    placeholder: '<event_data_store_id>',
    references: 1,
    text: `/* 
This query returns the estimated amount of Configuration items per resource type.

Use this query to estimate the cost of the AWS Config recorder.  
    
To use this query, Replace <event_data_store_id> with your Event Data Store Id.
*/

SELECT
    recipientAccountId, awsRegion, eventSource, count(* 
    ) as TotalPossibleCI 
FROM
    <event_data_store_id>
Where
    (eventSource like 'eks%' 
        or eventSource like 'ec2%' 
        or eventSource like 'vpc%'
        or eventSource like 'ecs%' 
        or eventSource like 'iam%' 
        or eventSource like 'autoscaling%' 
        or eventSource like 's3%' 
        or eventSource like 'rds%' 
        or eventSource like 'backup%' 
        or eventSource like 'athena%' 
        or eventSource like 'cloudtrail%' 
        or eventSource like 'cloudfront%' 
        or eventSource like 'cloudformation%' 
        or eventSource like 'code%' 
        or eventSource like 'ecr%' 
        or eventSource like 'lambda%' 
        or eventSource like 'efs%' 
    ) 
    and readOnly=False 
    and managementEvent=True 
    and eventTime > '2023-10-01 00:00:00' 
    AND eventTime < '2023-10-30 00:00:00' 
group
    by recipientAccountId, awsRegion, eventSource Order by recipientAccountId desc, TotalPossibleCI desc`,
  },
  {
    file: 'MostEvaluatedConfigRule.sql',
    source: source('MostEvaluatedConfigRule.sql'),
    placeholder: '<event_data_store_id>',
    references: 1,
    text: `/* 
This query returns the amount of times an AWS Config rule has been evaluated.

Use this query to Get a total count for the number of times AWS Config rules have been evaluated. 
    
To use this query, Replace <event_data_store_id> with your Event Data Store Id.
*/

SELECT
    count(*
    ) as TotalEvents, date(eventTime
    ) as datestamp,awsRegion, recipientAccountId, element_at(additionalEventData, 'configRuleName'
    ) as configRuleName, element_at(additionalEventData, 'configRuleArn'
    ) as configRuleArn
FROM 
<event_data_store_id>
WHERE
    eventName= 'PutEvaluations'
    and eventTime > '2022-11-01 00:00:00'
    AND eventTime < '2022-11-22 00:00:00'
group
    by date(eventTime
    ), awsRegion, recipientAccountId, additionalEventData
order 
	by date(eventTime
    ) desc, TotalEvents desc, recipientAccountId`,
  },
  {
    file: 'SelfAssumeRole.sql',
    source: source('SelfAssumeRole.sql'),
    placeholder: '<event_data_store_id>',
    references: 1,
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
    file: 'activity-performed-by-IP-address.sql',
    source: source('activity-performed-by-IP-address.sql'),
    placeholder: '<EDS ID>',
    references: 1,
    text: `/* 
This query confirms if there were any activity performed from IP address in other AWS accounts in your organization except one during specific window time grouped by AWS account.
Replace <EDS ID> with your Event Data Store Id number, the <192.0.2.76> with the IP address you are looking for and the <555555555555> with the AWS account you want to exclude.
*/

SELECT useridentity.accountid 
FROM <EDS ID> 
WHERE sourceIPAddress = '192.0.2.76'
AND eventTime > '2023-01-01 00:00:00' AND eventTime < '2023-01-07 00:00:00' 
AND useridentity.accountid != '555555555555' 
GROUP by useridentity.accountid;
`,
  },
  {
    file: 'aurora-databases-with-performance-insights.sql',
    source: source('aurora-databases-with-performance-insights.sql'),
    placeholder: '$EDS_ID',
    references: 1,
    text: `/* This query returns Aurora Postgresql DB instances that have performance insights enabled
Replace <EDS ID> with your Event Data Store Id number.
*/

SELECT
    element_at(requestParameters, 'dBInstanceIdentifier' 
    ) as DBInstance, element_at(requestParameters, 'engine' 
    ) as Engine, element_at(requestParameters, 'engineVersion' 
    ) as DBEngineVersion
FROM
    $EDS_ID 
WHERE
    element_at(requestParameters, 'engine' 
    ) = 'aurora-postgresql'  
    and eventname = 'CreateDBInstance' 
    and element_at(requestParameters, 'enablePerformanceInsights' 
    ) = 'true'`,
  },
  {
    file: 'aurora-mysql-databases-with-instance-class-information.sql',
    source: source('aurora-mysql-databases-with-instance-class-information.sql'),
    placeholder: '$EDS_ID',
    references: 1,
    text: `/* This query returns Aurora MySQL databases with Instance class information created from beginning of 2022. 
Replace <EDS ID> with your Event Data Store Id number.
*/

SELECT
    element_at(requestParameters, 'dBInstanceIdentifier' 
    ) as DBInstance, element_at(requestParameters, 'dBInstanceClass' 
    ) as InstanceClass, element_at(requestParameters, 'engine' 
    ) as Engine, eventTime as DateTime
FROM
    $EDS_ID 
WHERE
    element_at(requestParameters, 'engine' 
    ) = 'aurora-mysql'  
    and eventname = 'CreateDBInstance'  
    and eventTime >='2022-01-01 00:00:00'`,
  },
  {
    file: 'aws-support-access.sql',
    source: source('aws-support-access.sql'),
    placeholder: '<EDS ID>',
    references: 1,
    text: `
/*This query will show if AWS Support has taken over the AWSServiceRoleForSupport Role, for Data Sovereignty requirements.
Replace <EDS ID> with your Event Data Store Id number.*/


select
    eventTime,  eventSource,  eventName,  awsRegion,  sourceIPAddress, userAgent,  userIdentity.type as userIdtype,  element_at(resources, 1
    ).accountId as ressourceAccountID, element_at(resources, 1
    ).arn as ressourceARN, eventType, eventCategory, managementEvent, recipientAccountId, requestParameters, responseElements 
from
    <EDS ID>
where
    eventSource = 'sts.amazonaws.com' 
    and userAgent = 'support.amazonaws.com'
`,
  },
  {
    file: 'cloudtrail-configuration-changes.sql',
    source: source('cloudtrail-configuration-changes.sql'),
    placeholder: '$EDS_ID',
    references: 1,
    text: `/* This query modifications to CloudTrail trails.
Replace <EDS ID> with your Event Data Store Id number.
*/


SELECT
    eventName, element_at(requestParameters,'name' 
    ), userIdentity.principalid, eventTime
FROM
    $EDS_ID 
WHERE
    eventTime > '2022-01-01 00:00:00'  
    AND eventTime < '2022-01-01 00:00:00'  
    AND ( eventName = 'CreateTrail'  
        or eventName = 'UpdateTrail'  
        or eventName = 'DeleteTrail'  
        or eventName = 'StartLogging'  
        or eventName = 'StopLogging'  
    )`,
  },
  {
    file: 'console-login-with-no-mfa.sql',
    source: source('console-login-with-no-mfa.sql'),
    placeholder: '$EDS_ID',
    references: 1,
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
    file: 'cross-account-access.sql',
    source: source('cross-account-access.sql'),
    placeholder: '$EDS_ID',
    references: 1,
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
    file: 'data-by-week-day.sql',
    source: source('data-by-week-day.sql'),
    placeholder: '$EDS_ID',
    references: 1,
    text: `/* This query shows counts of all Data events by Day of the Week. 
Replace <EDS ID> with your Event Data Store Id number.
*/

SELECT
    day_of_week(eventTime
    ) as weekday,  COUNT(*
    ) as eventCount
FROM
    $EDS_ID
WHERE
    eventTime > '2022-01-01 00:00:00' 
    AND eventTime < '2022-01-01 00:00:00' 
    AND eventCategory = 'Data'
GROUP
    BY day_of_week(eventTime
    )ORDER BY day_of_week(eventTime
    )`,
  },
  {
    file: 'database-failover-information.sql',
    source: source('database-failover-information.sql'),
    placeholder: '$EDS_ID',
    references: 1,
    text: `/* This query returns database failover information: Returns Region, DB, user, and time of a failover event for a database
Replace <EDS ID> with your Event Data Store Id number.
*/


SELECT
    awsRegion as AWSRegion,  element_at(requestParameters, 'dBClusterIdentifier'
    ) as DBCluster, userIdentity.sessionContext.sessionIssuer.userName as UserName, eventTime as FailoverTime
FROM
    $EDS_ID 
WHERE
    eventName = 'FailoverDBCluster'`,
  },
  {
    file: 'database-reboot-information.sql',
    source: source('database-reboot-information.sql'),
    placeholder: '$EDS_ID',
    references: 1,
    text: `/* This query results are a list in chronological order of DB reboots that have occured
Replace <EDS ID> with your Event Data Store Id number.
*/


SELECT
    element_at(requestParameters, 'dBInstanceIdentifier'  
    ) as DBInstance, userIdentity.sessionContext.sessionIssuer.userName as UserName, eventTime as RebootTime
FROM
    $EDS_ID 
WHERE
    eventName = 'RebootDBInstance'ORDER BY eventTime DESC`,
  },
  {
    file: 'db-cluster-point-in-time-restore.sql',
    source: source('db-cluster-point-in-time-restore.sql'),
    placeholder: '$EDS_ID',
    references: 1,
    text: `/* This query returns source and target of an RDS point in time restore
Replace <EDS ID> with your Event Data Store Id number.
*/

SELECT
    element_at(requestParameters, 'sourceDBClusterIdentifier' 
    ) as Source, element_at(requestParameters, 'dBClusterIdentifier' 
    ) as Target, userIdentity.sessionContext.sessionIssuer.userName as UserName, eventTime as RestoreTime
FROM
    $EDS_ID 
WHERE
    eventName = 'RestoreDBClusterToPointInTime'`,
  },
  {
    file: 'dynamodb-scan-operations.sql',
    source: source('dynamodb-scan-operations.sql'),
    placeholder: '$EDS_ID',
    references: 1,
    text: `/* This query returns raw records for all "scan" DunamoDB management events.
Replace <EDS ID> with your Event Data Store Id number.
*/

SELECT
    *
FROM
    $EDS_ID 
WHERE
    eventsource = 'dynamodb.amazonaws.com'  
    AND eventname = 'scan'`,
  },
  {
    file: 'ec2-api-run-instances.sql',
    source: source('ec2-api-run-instances.sql'),
    placeholder: '<EDS ID>',
    references: 1,
    text: `/* 
This query returns EC2 instances information created across the organization during specific window time.
Replace <EDS ID> with your Event Data Store Id number.
*/

SELECT recipientAccountId, awsRegion, eventID, element_at(responseElements, 'instancesSet') as instances
FROM <EDS ID>
WHERE eventName='RunInstances'
AND eventTime > '2023-01-01 00:00:00' AND eventTime < '2023-01-07 00:00:00'
`,
  },
  {
    file: 'ec2-events.sql',
    source: source('ec2-events.sql'),
    placeholder: '$EDS_ID',
    references: 1,
    text: `/* This query lists raw records for all EC2 management events.
Replace <EDS ID> with your Event Data Store Id number.
*/

SELECT
    *
FROM
    $EDS_ID 
WHERE
    eventname IN ('AssociateAddress', 'DisassociateAddress', 'CancelReservedInstancesListing', 'CancelSpotInstanceRequests', 'CreateNetworkAcl', 'DeleteNetworkAcl', 'CreateNetworkAclEntry', '''CreateVpc' , 'DeleteVpcPeeringConnection', 'RevokeSecurityGroupIngress' , 'RevokeSecurityGroupEgress', 'DetachInternetGateway', 'PurchaseReservedInstancesOffering', 'ModifyReservedInstances', 'AcceptVpcPeeringConnection', 'RejectVpcPeeringConnection' , 'CreateVpcPeeringConnection' 
    )`,
  },
  {
    file: 'ec2-public-security-group.sql',
    source: source('ec2-public-security-group.sql'),
    placeholder: '<event_data_store_id>',
    references: 2,
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
    file: 'ec2-security-historical-changes.sql',
    source: source('ec2-security-historical-changes.sql'),
    placeholder: '<event_data_store_id>',
    references: 2,
    text: `/*

This query returns historical changes of security groups. This is useful when you are auditing / investigating
changes made to security groups.

Notice that there are two queries below that are being combined using the "UNION ALL" clause. 

The first query pulls the AuthorizeSecurityGroupIngress events (for newly created security group rules).
The 2nd query pulls the ModifySecurityGroupRulesRequest (for modification on security group rules).

*/

-- This part of the query returns AuthorizeSecurityGroupIngress events
SELECT
    element_at(requestParameters, 'groupId') AS securityGroup,
    eventName,
    eventTime,
    element_at(requestParameters, 'ipPermissions') AS securityGroupRule,
    userIdentity.arn AS user,
    sourceIPAddress,    
    eventSource
FROM
    <event_data_store_id>
WHERE
    eventTime >= '2023-07-06 00:00:00'
    AND eventTime <= '2023-07-08 00:00:00'
    AND eventName = 'AuthorizeSecurityGroupIngress'     

UNION ALL

-- This part of the query returns ModifySecurityGroupRulesRequest events
SELECT
    json_extract_scalar(element_at(requestParameters, 'ModifySecurityGroupRulesRequest'), '$.GroupId') securityGroup,
    eventName,
    eventTime,
    element_at(requestParameters, 'ModifySecurityGroupRulesRequest') securityGroupRule,
    userIdentity.arn AS user,
    sourceIPAddress,    
    eventSource
FROM
    <event_data_store_id>
WHERE
	eventTime >= '2023-07-06 00:00:00'
    AND eventTime <= '2023-07-09 00:00:00'
	AND eventName = 'ModifySecurityGroupRules'
ORDER BY securityGroup,
    eventTime`,
  },
  {
    file: 'event-response-element-by-event-id.sql',
    source: source('event-response-element-by-event-id.sql'),
    placeholder: '<EDS ID>',
    references: 1,
    text: `/* 
This query obtain response element for a given CloudTrail event Id.
Replace <EDS ID> with your Event Data Store Id number and the CloudTrail event Id <3270e016-59a1-4448-8dd1-d27a4796502d>
*/

SELECT responseElements
FROM <EDS ID>
WHERE eventID = '3270e016-59a1-4448-8dd1-d27a4796502d';
`,
  },
  {
    file: 'find-snapshots-not-encrypted.sql',
    source: source('find-snapshots-not-encrypted.sql'),
    placeholder: '$EDS_ID',
    references: 1,
    text: `/* This query returns snapshots that are created which are not encrypted.  
Replace <EDS ID> with your Event Data Store Id number.
*/


select
    userIdentity.principalid,awsRegion,element_at(requestParameters,'volumeId'  
    ) as volume, json_extract(element_at(requestparameters, 'CreateSnapshotsRequest'  
        ),'$.InstanceSpecification.InstanceId'  
    ) as Instance, element_at(responseElements,'snapshotId'  
    ) as snapshotID 
from
    $EDS_ID
where
    eventName like '%CreateSnapshots%'  
    or eventName like '%CreateSnapshot'  
    and element_at(responseElements,'encrypted'  
    )='false'  
    and eventTime < '2022-01-01 00:00:00'  
    and eventTime > '2022-11-11 00:00:00' `,
  },
  {
    file: 'iam-access-key-activity.sql',
    source: source('iam-access-key-activity.sql'),
    placeholder: '<EDS ID>',
    references: 1,
    text: `/* 
This query returns AWS API activity performed by an IAM user access key and from which IP address during specific time window ordered by AWS service.
Replace <EDS ID> with your Event Data Store Id number and <AKIAIOSFODNN7EXAMPLE> with the IAM user access keys.
*/

SELECT eventSource,eventName,sourceIPAddress,eventTime,errorCode
FROM <EDS ID>
WHERE userIdentity.accessKeyId = 'AKIAIOSFODNN7EXAMPLE'
AND eventTime > '2023-01-01 00:00:00' AND eventTime < '2023-01-07 00:00:00'
order by eventTime;
`,
  },
  {
    file: 'iam-access-key-success-activity.sql',
    source: source('iam-access-key-success-activity.sql'),
    placeholder: '<EDS ID>',
    references: 1,
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
    file: 'iam-idc-federate-api-by-idc-user.sql',
    source: source('iam-idc-federate-api-by-idc-user.sql'),
    placeholder: '<EDS ID>',
    references: 1,
    text: `/* 
This query helps to confirm in which AWS accounts the IAM Identify Center user has federated using which IAM roles during specific window time.
Replace <EDS ID> with your Event Data Store Id number and the IAM Identity Center user <alice@example.com>.
*/

SELECT element_at(serviceEventDetails, 'account_id') as AccountID, element_at(serviceEventDetails, 'role_name') as SSORole, eventID, eventTime
FROM <EDS ID>
WHERE eventSource = 'sso.amazonaws.com'
AND eventName = 'Federate'
AND userIdentity.username = 'alice@example.com'
AND eventTime > '2023-01-01 00:00:00' AND eventTime < '2023-01-07 00:00:00'
`,
  },
  {
    file: 'iam-idc-user-count-and-group-activity.sql',
    source: source('iam-idc-user-count-and-group-activity.sql'),
    placeholder: '<EDS ID>',
    references: 1,
    text: `/* 
This query count and group activity based on APIs and the AWS services performed by the IAM Identity Center user during specific window time.
Replace <EDS ID> with your Event Data Store Id number and the IAM Identity Center user <alice@example.com>.
*/

SELECT eventSource, eventName, COUNT(*) AS apiCount 
FROM <EDS ID>
WHERE userIdentity.principalId LIKE '%alice@example.com'
AND eventTime > '2023-01-01 00:00:00' AND eventTime < '2023-01-07 00:00:00'
GROUP BY eventSource, eventName 
ORDER BY apiCount DESC
`,
  },
  {
    file: 'iam-idc-user-create-iam-role.sql',
    source: source('iam-idc-user-create-iam-role.sql'),
    placeholder: '$EDS_ID',
    references: 1,
    text: `/* 
This query returns API IAM CreateRole called by the IAM Identity Center user during specific window time.
Replace <EDS ID> with your Event Data Store Id number and the IAM Identity Center user <alice@example.com>.
*/

SELECT recipientAccountId, awsRegion, eventID, eventTime, errorCode, errorMessage
FROM $EDS_ID
WHERE userIdentity.principalId LIKE '%alice@example.com'
AND eventName='CreateRole'
AND eventTime > '2023-01-01 00:00:00' AND eventTime < '2023-01-07 00:00:00'
`,
  },
  {
    file: 'iam-idc-user-create-iam-user-acces-keys.sql',
    source: source('iam-idc-user-create-iam-user-acces-keys.sql'),
    placeholder: '$EDS_ID',
    references: 1,
    text: `/* 
This query returns information about API IAM CreateUserAccessKeys performed by the IAM Identity Center user during specific window time.
Replace <EDS ID> with your Event Data Store Id number and the IAM Identity Center user <alice@example.com>.
*/

SELECT recipientAccountId, awsRegion, eventID, eventTime, errorCode, errorMessage
FROM $EDS_ID
WHERE userIdentity.principalId LIKE '%alice@example.com'
AND eventName='CreateAccessKey'
AND eventTime > '2023-01-01 00:00:00' AND eventTime < '2023-01-07 00:00:00'
`,
  },
  {
    file: 'iam-idc-user-create-iam-user.sql',
    source: source('iam-idc-user-create-iam-user.sql'),
    placeholder: '$EDS_ID',
    references: 1,
    text: `/* 
This query returns information about API IAM CreateUser performed by the IAM Identity Center user during specific window time.
Replace <EDS ID> with your Event Data Store Id number and the IAM Identity Center user <alice@example.com>.
*/

SELECT recipientAccountId, awsRegion, eventID, eventTime, element_at(responseElements, 'user') as userInfo
FROM $EDS_ID
WHERE userIdentity.principalId LIKE '%alice@example.com'
AND eventName='CreateUser'
AND eventTime > '2023-01-01 00:00:00' AND eventTime < '2023-01-07 00:00:00'
`,
  },
  {
    file: 'iam-idc-user-denied-activity.sql',
    source: source('iam-idc-user-denied-activity.sql'),
    placeholder: '<EDS ID>',
    references: 1,
    text: `/* 
This query returns denied activity based errorCode response and the AWS services performed by the IAM Identity Center user during specific window time.
Replace <EDS ID> with your Event Data Store Id number and the IAM Identity Center user <alice@example.com>.
*/

SELECT recipientAccountId, awsRegion, eventSource, eventName, readOnly, errorCode, errorMessage, eventTime, eventID
FROM <EDS ID>
WHERE userIdentity.principalId LIKE '%alice@example.com'
AND (errorCode = 'AccessDenied' OR errorCode LIKE '%Unauthorized%')
AND eventTime > '2023-01-01 00:00:00' AND eventTime < '2023-01-07 00:00:00'
`,
  },
  {
    file: 'iam-idc-user-modify-iam-policy.sql',
    source: source('iam-idc-user-modify-iam-policy.sql'),
    placeholder: '$EDS_ID',
    references: 1,
    text: `/* 
This query returns information about API IAM PutRolePolicy called by the IAM Identity Center user during specific window time.
Replace <EDS ID> with your Event Data Store Id number and the IAM Identity Center user <alice@example.com>.
*/

SELECT recipientAccountId, eventID, eventTime, element_at(requestParameters, 'roleName') as roleName, element_at(requestParameters, 'policyDocument') as policyDocument 
FROM $EDS_ID
WHERE userIdentity.principalId LIKE '%alice@example.com'
AND eventName='PutRolePolicy'
AND eventTime > '2023-01-01 00:00:00' AND eventTime < '2023-01-07 00:00:00'
`,
  },
  {
    file: 'iam-idc-user-mutable-actions.sql',
    source: source('iam-idc-user-mutable-actions.sql'),
    placeholder: '<EDS ID>',
    references: 1,
    text: `/* 
This query returns activity based on mutable APIs and the AWS services performed by the IAM Identity Center user during specific window time.
Replace <EDS ID> with your Event Data Store Id number and the IAM Identity Center user <alice@example.com>.
*/

SELECT eventSource, eventName, eventTime, eventID, errorCode
FROM <EDS ID>
WHERE userIdentity.principalId LIKE '%alice@example.com'
AND readOnly = false
AND eventTime > '2023-01-01 00:00:00' AND eventTime < '2023-01-07 00:00:00'
`,
  },
  {
    file: 'iam-principal-by-launched-ec2-instance-id.sql',
    source: source('iam-principal-by-launched-ec2-instance-id.sql'),
    placeholder: '<EDS ID>',
    references: 1,
    text: `/* 
This query confirms who (principal Id) has launched an EC2 instance.
Replace <EDS ID> with your Event Data Store Id number and the <i-b188560f> with the EC2 instance that you are looking for.
*/

SELECT userIdentity.principalid, eventName, eventTime, recipientAccountId, awsRegion 
FROM <EDS ID>
WHERE responseElements IS NOT NULL AND
element_at(responseElements, 'instancesSet') like '%"instanceId":"i-b188560f"%' 
AND eventTime > '2023-01-01 00:00:00' AND eventTime < '2023-01-07 00:00:00'
AND eventName='RunInstances'
`,
  },
  {
    file: 'iam-role-activity.sql',
    source: source('iam-role-activity.sql'),
    placeholder: '<EDS ID>',
    references: 1,
    text: `/* 
This query helps to confirm successful activity performed by IAM role during specific window time.
Replace <EDS ID> with your Event Data Store Id number and the <arn:aws:iam::555555555555:role/alice> with the IAM role ARN.
*/

SELECT eventSource, eventName, eventTime, eventID, errorCode 
FROM <EDS ID> 
WHERE eventTime > '2023-01-01 00:00:00' AND eventTime < '2023-01-07 00:00:00'
AND useridentity.type = 'AssumedRole'
AND useridentity.sessioncontext.sessionissuer.arn = 'arn:aws:iam::555555555555:role/alice';
`,
  },
  {
    file: 'iam-role-assumed-by-iam-access-key.sql',
    source: source('iam-role-assumed-by-iam-access-key.sql'),
    placeholder: '<EDS ID>',
    references: 1,
    text: `/* 
This query helps to confirm which IAM role was assumed by an IAM user access keys during specific window time.
Replace <EDS ID> with your Event Data Store Id number and <AKIAIOSFODNN7EXAMPLE> with the IAM user access keys.
*/

SELECT requestParameters,responseElements
FROM <EDS ID>
WHERE eventName = 'AssumeRole'
AND eventTime > '2023-01-01 00:00:00' AND eventTime < '2023-01-07 00:00:00'
AND userIdentity.accessKeyId = 'AKIAIOSFODNN7EXAMPLE';
`,
  },
  {
    file: 'list-all-S3-PutObjects-Encryption-status.sql',
    source: source('list-all-S3-PutObjects-Encryption-status.sql'),
    placeholder: '$EDS_ID',
    references: 1,
    text: `/* This query lists the encryption status of Objects uploaded to S3 buckets in the descending order of event time.
Replace <EDS ID> with your Event Data Store Id number.*/

/*Pre-reqs:
Activate data events for S3 and perform upload operations in the S3 bucket which has encryption enabled/disabled and upload object with encryption enabled/disabled. 
*/

select
    recipientAccountId, eventTime, element_at(requestParameters,'bucketName'
    ) AS S3BUCKET , element_at(requestParameters,'key'
    ) AS S3OBJECT, element_at(requestParameters,'x-amz-server-side-encryption'
    ) AS ReqENCRYPTION,element_at(responseElements,'x-amz-server-side-encryption'
    ) AS RespENCRYPTION 
from
    $EDS_ID 
where
    eventName='PutObject' order by eventTime desc`,
  },
  {
    file: 'list-all-manually-created-resources.sql',
    source: source('list-all-manually-created-resources.sql'),
    placeholder: '<EDS ID>',
    references: 1,
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
    file: 'list-events-with-errors.sql',
    source: source('list-events-with-errors.sql'),
    placeholder: '<event-data-store-ID>',
    references: 1,
    text: `/* This query analyzes CloudTrail Events and identifies any calls that result in errors.
Replace <EDS ID> with your Event Data Store Id number.
*/

SELECT
    userIdentity.arn,eventTime,eventSource,eventName,awsRegion,sourceIPAddress,userAgent,errorCode,errorMessage,requestParameters,readOnly,resources,recipientAccountId,tlsDetails
FROM
    <event-data-store-ID>
WHERE
    errorCode IS NOT NULL  
    AND eventTime > '2022-01-01 00:00:00'  
    AND eventTime < '2022-01-01 00:00:00'`,
  },
  {
    file: 'list-write-events-from-management-console.sql',
    source: source('list-write-events-from-management-console.sql'),
    placeholder: '<event-data-store-ID>',
    references: 1,
    text: `/* This query analyzes CloudTrail Events and identifies any calls that are made to AWS service APIs via the AWS Management Console.
Replace <EDS ID> with your Event Data Store Id number.
*/

SELECT
    userIdentity.arn,eventTime,eventSource,eventName,awsRegion,sourceIPAddress,userAgent,requestParameters,readOnly,recipientAccountId,sessionCredentialFromConsole
FROM
    <event-data-store-ID>
WHERE
    sessionCredentialFromConsole = true  
    AND readOnly = false  
    AND eventTime > '2022-01-01 00:00:00'  
    AND eventTime < '2022-01-01 00:00:00'`,
  },
  {
    file: 'logs-by-region.sql',
    source: source('logs-by-region.sql'),
    placeholder: '$EDS_ID',
    references: 1,
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
    file: 'rds-db-deleted-with-no-snapshot.sql',
    source: source('rds-db-deleted-with-no-snapshot.sql'),
    placeholder: '$EDS_ID',
    references: 1,
    text: `/* This query returns details when a RDS DB was deleted without taking final snapshot.
Replace <EDS ID> with your Event Data Store Id number.
*/


SELECT
    element_at(requestParameters, 'dBClusterIdentifier' 
    ) as DBCluster, userIdentity.sessionContext.sessionIssuer.userName as UserName, eventTime as DeletedTime
FROM
    $EDS_ID 
WHERE
    eventName = 'DeleteDBCluster'  
    and element_at(requestParameters, 'skipFinalSnapshot' 
    ) = 'true'`,
  },
  {
    file: 'resourceCompliance.sql',
    source: source('resourceCompliance.sql'),
    placeholder: '<event_data_store_id>',
    references: 1,
    text: `/* 
This query returns the PutEvaluation result for Config rules.

Essentially providing the same information returned by the overall resource compliance CI type.
    
To use this query, Replace <event_data_store_id> with your Event Data Store Id.
*/

SELECT
    eventTime,awsRegion, recipientAccountId, element_at(additionalEventData, 'configRuleName'  
    ) as configRuleName, json_extract_scalar(json_array_get(element_at(requestParameters,'evaluations' 
        ),0 
        ),'$.complianceType' 
    ) as Compliance, json_extract_scalar(json_array_get(element_at(requestParameters,'evaluations' 
        ),0 
        ),'$.complianceResourceType' 
    ) as ResourceType, json_extract_scalar(json_array_get(element_at(requestParameters,'evaluations' 
        ),0 
        ),'$.complianceResourceId' 
    ) as ResourceName
FROM
    <event_data_store_id>
WHERE
    eventName='PutEvaluations'  
    AND eventTime > '2023-11-16 00:00:00'  
    AND eventTime < '2023-11-17 00:00:00' 
    And json_extract_scalar(json_array_get(element_at(requestParameters,'evaluations' 
        ),0 
        ),'$.complianceType' 
    ) IN ('COMPLIANT','NON_COMPLIANT'
    ) `,
  },
  {
    file: 's3-actions-by-iam-access-key.sql',
    source: source('s3-actions-by-iam-access-key.sql'),
    placeholder: '<EDS ID>',
    references: 1,
    text: `/* 
This query obtain S3 bucket and object names affected by an IAM user access kesy during a specifc window time.
Replace <EDS ID> with your Event Data Store Id number and the <AKIAIOSFODNN7EXAMPLE> with the IAM user access keys.
*/

SELECT element_at(requestParameters, 'bucketName') as BucketName, element_at(requestParameters, 'key') as ObjectName, eventName 
FROM <EDS ID>
WHERE (eventName = 'CopyObject' OR eventName = 'DeleteObject' OR eventName = 'DeleteObjects' OR eventName = 'GetObject' OR eventName = 'HeadObject' OR eventName = 'PutObject') 
AND eventTime > '2023-01-01 00:00:00' AND eventTime < '2023-01-07 00:00:00'
AND userIdentity.accessKeyId = 'AKIAIOSFODNN7EXAMPLE'
`,
  },
  {
    file: 's3-buckets-public-access-block-historical-changes.sql',
    source: source('s3-buckets-public-access-block-historical-changes.sql'),
    placeholder: '<event_data_store_id>',
    references: 1,
    text: `/* 

This query returns the historical changes on the public access block policy of s3 buckets. This query is useful when you are 
trying to audit public access block changes or trying to find buckets that are exposed in the internet.

If you are trying to find the current bucket policy that are allowing public access, look at the result set of this query.
Check for the first record of each bucket from the result set. Check each bucket and check if the blockPublicPolicy = false.

*/

SELECT
	element_at(requestParameters, 'bucketName') AS bucketName,
    json_extract_scalar(element_at(requestParameters, 'PublicAccessBlockConfiguration'), '$.RestrictPublicBuckets') AS restrictPublicBuckets,
    json_extract_scalar(element_at(requestParameters, 'PublicAccessBlockConfiguration'), '$.BlockPublicPolicy') AS blockPublicPolicy,
    element_at(requestParameters, 'PublicAccessBlockConfiguration') AS publicAccessBlockConfiguration,
    eventName,
    eventTime,
    requestParameters,
    userIdentity.arn AS user,
    responseElements
FROM
    <event_data_store_id>
WHERE
    eventTime >= '2023-07-07 00:00:00'
    AND eventSource = 's3.amazonaws.com'
    and element_at(requestParameters, 'bucketName') = 'demo-20230707'
    and eventName IN ('PutPublicAccessBlock', 'DeletePublicAccessBlock', 'PutBucketPublicAccessBlock')    
ORDER BY
	bucketName,
    eventTime DESC
    `,
  },
  {
    file: 's3-buckets-using-acls.sql',
    source: source('s3-buckets-using-acls.sql'),
    placeholder: '<EDS_ID>',
    references: 1,
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
    file: 'tag-history-by-resource.sql',
    source: source('tag-history-by-resource.sql'),
    placeholder: '$EDS_ID',
    references: 1,
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
    file: 'tls-version.sql',
    source: source('tls-version.sql'),
    placeholder: '$EDS_ID',
    references: 1,
    text: `/* This query shows all API requests where the specified TLS version was not used.
Replace <EDS ID> with your Event Data Store Id number.
*/

SELECT
    eventName,  awsRegion,  sourceIPAddress,  recipientAccountId,  tlsDetails.tlsversion
FROM
    $EDS_ID
WHERE
    eventTime > '2022-01-01 00:00:00' 
    AND eventTime < '2022-01-01 00:00:00' 
    AND tlsDetails.tlsversion != 'TLSv1.3'
`,
  },
  {
    file: 'top-actions-by-iam-role.sql',
    source: source('top-actions-by-iam-role.sql'),
    placeholder: '<EDS ID>',
    references: 1,
    text: `/* 
This query count activity performed by an IAM role during specific time period grouped by AWS services and APIs.
Replace <EDS ID> with your Event Data Store Id number and the <arn:aws:iam::555555555555:role/alice> with the IAM role ARN.
*/

SELECT count (*) as NumberEvents, eventSource, eventName
FROM <EDS ID> 
WHERE eventTime > '2023-01-01 00:00:00' AND eventTime < '2023-01-07 00:00:00' 
AND useridentity.type = 'AssumedRole' 
AND useridentity.sessioncontext.sessionissuer.arn = 'arn:aws:iam::555555555555:role/alice'
GROUP by eventSource, eventName
order by NumberEvents desc;
`,
  },
  {
    file: 'top-iam-actions-by-principal.sql',
    source: source('top-iam-actions-by-principal.sql'),
    placeholder: '<event_data_store_id>',
    references: 1,
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
    file: 'top-s3-objects.sql',
    source: source('top-s3-objects.sql'),
    placeholder: '$EDS_ID',
    references: 1,
    text: `/* This query returns the most retrieved S3 Objects.
Replace <EDS ID> with your Event Data Store Id number.
*/

SELECT
    element_at(requestParameters, 'bucketName'
    ) as bucketName,  element_at(requestParameters, 'key'
    ) as key,  COUNT(*
    ) as requestCount 
FROM
    $EDS_ID 
WHERE
    eventSource = 's3.amazonaws.com'  
    AND eventCategory = 'Data'  
    AND eventTime > '2022-01-01 00:00:00'  
    AND eventTime < '2022-01-01 00:00:00'  
    AND eventName = 'GetObject' 
GROUP
    BY requestParameters ORDER BY requestCount DESC LIMIT 20;`,
  },
  {
    file: 'user-added-to-admin-group.sql',
    source: source('user-added-to-admin-group.sql'),
    placeholder: '$EDS_ID',
    references: 1,
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
  {
    file: 'users-by-account.sql',
    source: source('users-by-account.sql'),
    placeholder: '$EDS_ID',
    references: 1,
    text: `/* This query returns all requests by user by account for the specified time period. Ordered by request count. 
Replace <EDS ID> with your Event Data Store Id number.
*/

SELECT
    userIdentity.principalid, useridentity.accountId, count(* 
    ) as eventCount 
FROM
    $EDS_ID 
WHERE
    userIdentity.principalid IS NOT NULL  
    AND eventTime > '2022-01-01 00:00:00'  
    AND eventTime < '2022-01-01 00:00:00'
GROUP
    BY userIdentity.principalid, useridentity.accountId ORDER BY EventCount DESC`,
  },
];

export const configSampleQueries: readonly SampleQuery[] = [
  {
    file: 'ssm-patch-compliance-all-ec2-instances.sql',
    source: source('ssm-patch-compliance-all-ec2-instances.sql'),
    placeholder: 'config_event_data_store_ID',
    references: 1,
    text: `/* The SQL query will be run against the configuration items that been collected from the resource type, 
AWS::SSM::PatchCompliance, as part of the config rule ec2-managedinstance-patch-compliance-status-check.

In the query below, replace config_event_data_store_ID with your own event data store ID.
*/

SELECT
  eventData.accountId, eventData.awsRegion, replace(eventData.resourceId, 'AWS::SSM::ManagedInstanceInventory/') as InstanceId, eventTime,
  transform(filter(PatchResult, PatchItem -> cast(json_extract(PatchItem, '$.PatchState') as varchar) = 'Installed'), FoundItem -> json_extract(FoundItem, '$.Id')) as Installed,
  transform(filter(PatchResult, PatchItem -> cast(json_extract(PatchItem, '$.PatchState') as varchar) = 'InstalledOther'), FoundItem -> json_extract(FoundItem, '$.Id')) as InstalledOther,
  transform(filter(PatchResult, PatchItem -> cast(json_extract(PatchItem, '$.PatchState') as varchar) = 'InstalledPendingReboot'), FoundItem -> json_extract(FoundItem, '$.Id')) as InstalledPendingReboot,
  transform(filter(PatchResult, PatchItem -> cast(json_extract(PatchItem, '$.PatchState') as varchar) = 'Missing'), FoundItem -> json_extract(FoundItem, '$.Id')) as Missing,
  transform(filter(PatchResult, PatchItem -> cast(json_extract(PatchItem, '$.PatchState') as varchar) = 'Failed'), FoundItem -> json_extract(FoundItem, '$.Id')) as Failed
FROM (
    SELECT eventData, map_values(cast(json_extract(json_parse(eventJson), '$.eventData.configuration.AWS:ComplianceItem.Content.Patch') as map(varchar, json))) as PatchResult,eventTime
    FROM config_event_data_store_ID 
    WHERE eventData.resourceType = 'AWS::SSM::PatchCompliance'
) where PatchResult is not null`,
  },
  {
    file: 'ssm-patch-compliance-distinct-ec2-instance-latest.sql',
    source: source('ssm-patch-compliance-distinct-ec2-instance-latest.sql'),
    placeholder: 'config_event_data_store_ID',
    references: 1,
    text: `/* The below query returns the list of instances without returning duplicate instance IDs. 
The latest EC2 compliance data are returned. By default, CloudTrail Lake query can return 
multiple EC2 instance compliance data because Config keeps track of historical data.

In the query below, replace config_event_data_store_ID with your own event data store ID.
*/

SELECT
  eventData.accountId, eventData.awsRegion, replace(eventData.resourceId, 'AWS::SSM::ManagedInstanceInventory/') as InstanceId, eventTime, 
  transform(filter(PatchResult, PatchItem -> cast(json_extract(PatchItem, '$.PatchState') as varchar) = 'Installed'), FoundItem -> json_extract(FoundItem, '$.Id')) as Installed,
  transform(filter(PatchResult, PatchItem -> cast(json_extract(PatchItem, '$.PatchState') as varchar) = 'InstalledOther'), FoundItem -> json_extract(FoundItem, '$.Id')) as InstalledOther,
  transform(filter(PatchResult, PatchItem -> cast(json_extract(PatchItem, '$.PatchState') as varchar) = 'InstalledPendingReboot'), FoundItem -> json_extract(FoundItem, '$.Id')) as InstalledPendingReboot,
  transform(filter(PatchResult, PatchItem -> cast(json_extract(PatchItem, '$.PatchState') as varchar) = 'Missing'), FoundItem -> json_extract(FoundItem, '$.Id')) as Missing,
  transform(filter(PatchResult, PatchItem -> cast(json_extract(PatchItem, '$.PatchState') as varchar) = 'Failed'), FoundItem -> json_extract(FoundItem, '$.Id')) as Failed
FROM (SELECT eventData, map_values(cast(json_extract(json_parse(eventJson), '$.eventData.configuration.AWS:ComplianceItem.Content.Patch') as map(varchar, json))) as PatchResult,eventTime, rank() over (partition by replace(eventData.resourceId, 'AWS::SSM::ManagedInstanceInventory/') order by eventTime desc) as rnk
    FROM config_event_data_store_ID
    WHERE eventData.resourceType = 'AWS::SSM::PatchCompliance'
) where rnk = 1`,
  },
  {
    file: 'ssm-patch-compliance-selected-ec2-instance-time-range.sql',
    source: source('ssm-patch-compliance-selected-ec2-instance-time-range.sql'),
    placeholder: 'config_event_data_store_ID',
    references: 1,
    text: `/* The following query has a filter for EC2 instance where you can replace <instance id> 
in the below query with your own EC2 instance ID to identity patch compliance status for the specific instance. 
The query has a filter for eventTime as well.  You can search patch compliance status based on specific time ranges.

In the query below, replace config_event_data_store_ID with your own event data store ID.
*/

SELECT
  replace(eventData.resourceId, 'AWS::SSM::ManagedInstanceInventory/') as InstanceId,eventData.accountId, eventData.awsRegion, eventTime,
  transform(filter(PatchResult, PatchItem -> cast(json_extract(PatchItem, '$.PatchState') as varchar) = 'Installed'), FoundItem -> json_extract(FoundItem, '$.Id')) as Installed,
  transform(filter(PatchResult, PatchItem -> cast(json_extract(PatchItem, '$.PatchState') as varchar) = 'InstalledOther'), FoundItem -> json_extract(FoundItem, '$.Id')) as InstalledOther,
  transform(filter(PatchResult, PatchItem -> cast(json_extract(PatchItem, '$.PatchState') as varchar) = 'InstalledPendingReboot'), FoundItem -> json_extract(FoundItem, '$.Id')) as InstalledPendingReboot,
  transform(filter(PatchResult, PatchItem -> cast(json_extract(PatchItem, '$.PatchState') as varchar) = 'Missing'), FoundItem -> json_extract(FoundItem, '$.Id')) as Missing,
  transform(filter(PatchResult, PatchItem -> cast(json_extract(PatchItem, '$.PatchState') as varchar) = 'Failed'), FoundItem -> json_extract(FoundItem, '$.Id')) as Failed
FROM (
    SELECT eventData, map_values(cast(json_extract(json_parse(eventJson), '$.eventData.configuration.AWS:ComplianceItem.Content.Patch') as map(varchar, json))) as PatchResult,
  eventTime
    FROM config_event_data_store_ID
    WHERE eventData.resourceType = 'AWS::SSM::PatchCompliance' 
  AND replace(eventData.resourceId, 'AWS::SSM::ManagedInstanceInventory/') = '<instance id such as i-123456789012>'
  AND eventTime > '2023-06-23 00:00:00'
  AND eventTime < '2023-06-25 12:00:00'
) where PatchResult is not null;`,
  },
];
