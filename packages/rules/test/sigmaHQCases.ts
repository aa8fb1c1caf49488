import type { CloudTrailRecord } from '@opentrail/cloudtrail';

/**
 * Records of our own for SigmaHQ's CloudTrail rules (fixtures/sigmahq-cloudtrail): for each rule
 * file, records it must match and near misses it must not (one condition of the rule broken each).
 * Shared by sigmaHQ.test.ts and the cross-check against pySigma (scripts/sigma-crosscheck.ts).
 */
export interface SigmaHQCase {
  match: CloudTrailRecord[];
  noMatch: CloudTrailRecord[];
}

const alice = { type: 'IAMUser', arn: 'arn:aws:iam::111122223333:user/alice', accountId: '111122223333', userName: 'alice', principalId: 'AIDAEXAMPLE' };
const role = {
  type: 'AssumedRole',
  arn: 'arn:aws:sts::111122223333:assumed-role/deploy/session',
  accountId: '111122223333',
  principalId: 'AROAEXAMPLE:session',
  sessionContext: { sessionIssuer: { type: 'Role', arn: 'arn:aws:iam::111122223333:role/deploy', userName: 'deploy' } },
};
const layer = 'arn:aws:lambda:us-east-1:111122223333:layer:shared:3';

export const SIGMAHQ_CASES: Record<string, SigmaHQCase> = {
  'aws_ec2_startup_script_change.yml': {
    match: [
      { eventSource: 'ec2.amazonaws.com', eventName: 'ModifyInstanceAttribute', requestParameters: { instanceId: 'i-0abc', attribute: 'userData' } },
      // An array at the end of the path matches when any element does (cloudtrail-spec.md §9).
      { eventSource: 'ec2.amazonaws.com', eventName: 'ModifyInstanceAttribute', requestParameters: { instanceId: 'i-0abc', attribute: ['userData'] } },
      { eventSource: 'ec2.amazonaws.com', eventName: 'ModifyInstanceAttribute', requestParameters: { instanceId: 'i-0abc', attribute: ['instanceType', 'USERDATA'] } },
    ],
    noMatch: [
      { eventSource: 'ec2.amazonaws.com', eventName: 'ModifyInstanceAttribute', requestParameters: { instanceId: 'i-0abc', attribute: 'instanceType' } },
      { eventSource: 'ec2.amazonaws.com', eventName: 'ModifyInstanceAttribute', requestParameters: { instanceId: 'i-0abc', attribute: ['userDataX'] } },
      { eventSource: 'ec2.amazonaws.com', eventName: 'ModifyInstanceAttribute', requestParameters: { instanceId: 'i-0abc', attribute: [] } },
      { eventSource: 'ec2.amazonaws.com', eventName: 'DescribeInstanceAttribute', requestParameters: { instanceId: 'i-0abc', attribute: 'userData' } },
    ],
  },
  'aws_new_lambda_layer_attached.yml': {
    match: [
      { eventSource: 'lambda.amazonaws.com', eventName: 'UpdateFunctionConfiguration20150331v2', requestParameters: { functionName: 'f', layers: [layer] } },
      { eventSource: 'lambda.amazonaws.com', eventName: 'UpdateFunctionConfiguration', requestParameters: { functionName: 'f', layers: ['a', layer] } },
    ],
    noMatch: [
      // Removing every layer is not attaching one: an empty array matches nothing, not even '*'.
      { eventSource: 'lambda.amazonaws.com', eventName: 'UpdateFunctionConfiguration20150331v2', requestParameters: { functionName: 'f', layers: [] } },
      { eventSource: 'lambda.amazonaws.com', eventName: 'UpdateFunctionConfiguration20150331v2', requestParameters: { functionName: 'f', timeout: 30 } },
      { eventSource: 'lambda.amazonaws.com', eventName: 'UpdateFunctionCode20150331v2', requestParameters: { functionName: 'f', layers: [layer] } },
    ],
  },
  'aws_ecs_task_definition_cred_endpoint_query.yml': {
    match: [
      {
        eventSource: 'ecs.amazonaws.com',
        eventName: 'RegisterTaskDefinition',
        requestParameters: { family: 'x', containerDefinitions: [{ name: 'a', command: ['sh'] }, { name: 'b', command: ['sh', '-c', 'curl 169.254.170.2$AWS_CONTAINER_CREDENTIALS_RELATIVE_URI'] }] },
      },
    ],
    noMatch: [
      { eventSource: 'ecs.amazonaws.com', eventName: 'RegisterTaskDefinition', requestParameters: { family: 'x', containerDefinitions: [{ name: 'a', command: ['sh', '-c', 'echo hi'] }] } },
      { eventSource: 'ecs.amazonaws.com', eventName: 'RegisterTaskDefinition', requestParameters: { family: 'x', containerDefinitions: [{ name: 'a', command: [] }] } },
      { eventSource: 'ecs.amazonaws.com', eventName: 'ListTaskDefinitions', requestParameters: { family: 'x', containerDefinitions: [{ name: 'b', command: ['$AWS_CONTAINER_CREDENTIALS_RELATIVE_URI'] }] } },
    ],
  },
  'aws_disable_bucket_versioning.yml': {
    // Whole objects compared with contains: the object's JSON text.
    match: [{ eventSource: 's3.amazonaws.com', eventName: 'PutBucketVersioning', requestParameters: { bucketName: 'b', VersioningConfiguration: { Status: 'Suspended' } } }],
    noMatch: [
      { eventSource: 's3.amazonaws.com', eventName: 'PutBucketVersioning', requestParameters: { bucketName: 'b', VersioningConfiguration: { Status: 'Enabled' } } },
      { eventSource: 's3.amazonaws.com', eventName: 'GetBucketVersioning', requestParameters: { bucketName: 'b', VersioningConfiguration: { Status: 'Suspended' } } },
    ],
  },
  'aws_iam_s3browser_templated_s3_bucket_policy_creation.yml': {
    match: [
      {
        eventSource: 'iam.amazonaws.com',
        eventName: 'PutUserPolicy',
        userAgent: 'S3 Browser 9.5.5 https://s3browser.com',
        requestParameters: { userName: 'u', policyName: 'p', policyDocument: { Statement: [{ Effect: 'Allow', Action: ['s3:GetObject'], Resource: ['arn:aws:s3:::<YOUR-BUCKET-NAME>/*'] }] } },
      },
    ],
    noMatch: [
      {
        eventSource: 'iam.amazonaws.com',
        eventName: 'PutUserPolicy',
        userAgent: 'S3 Browser 9.5.5 https://s3browser.com',
        requestParameters: { userName: 'u', policyName: 'p', policyDocument: { Statement: [{ Effect: 'Deny', Action: ['s3:GetObject'], Resource: ['arn:aws:s3:::<YOUR-BUCKET-NAME>/*'] }] } },
      },
      {
        eventSource: 'iam.amazonaws.com',
        eventName: 'PutUserPolicy',
        userAgent: 'aws-cli/2.15.0',
        requestParameters: { userName: 'u', policyName: 'p', policyDocument: { Statement: [{ Effect: 'Allow', Action: ['s3:GetObject'], Resource: ['arn:aws:s3:::<YOUR-BUCKET-NAME>/*'] }] } },
      },
    ],
  },
  'aws_cloudtrail_console_login_success_without_mfa.yml': {
    match: [{ eventSource: 'signin.amazonaws.com', eventName: 'ConsoleLogin', responseElements: { ConsoleLogin: 'Success' }, additionalEventData: { MFAUsed: 'No' } }],
    noMatch: [
      { eventSource: 'signin.amazonaws.com', eventName: 'ConsoleLogin', responseElements: { ConsoleLogin: 'Success' }, additionalEventData: { MFAUsed: 'Yes' } },
      { eventSource: 'signin.amazonaws.com', eventName: 'ConsoleLogin', responseElements: { ConsoleLogin: 'Failure' }, additionalEventData: { MFAUsed: 'No' } },
    ],
  },
  'aws_cloudtrail_console_login_failed_authentication.yml': {
    match: [{ eventSource: 'signin.amazonaws.com', eventName: 'ConsoleLogin', errorMessage: 'Failed authentication' }],
    noMatch: [{ eventSource: 'signin.amazonaws.com', eventName: 'ConsoleLogin', responseElements: { ConsoleLogin: 'Success' } }],
  },
  'aws_cloudtrail_guardduty_detector_deleted_or_updated.yml': {
    match: [
      { eventSource: 'guardduty.amazonaws.com', eventName: 'DeleteDetector', requestParameters: { detectorId: 'd' } },
      // 'false' matches the JSON boolean false (values are compared as text).
      { eventSource: 'guardduty.amazonaws.com', eventName: 'UpdateDetector', requestParameters: { detectorId: 'd', enable: false } },
    ],
    noMatch: [
      { eventSource: 'guardduty.amazonaws.com', eventName: 'UpdateDetector', requestParameters: { detectorId: 'd', enable: true } },
      { eventSource: 'guardduty.amazonaws.com', eventName: 'DeleteDetector', errorCode: 'AccessDenied', requestParameters: { detectorId: 'd' } },
    ],
  },
  'aws_cloudtrail_bucket_deleted.yml': {
    match: [{ eventSource: 's3.amazonaws.com', eventName: 'DeleteBucket', requestParameters: { bucketName: 'b' } }],
    noMatch: [
      { eventSource: 's3.amazonaws.com', eventName: 'DeleteBucket', errorCode: 'NoSuchBucket', requestParameters: { bucketName: 'b' } },
      { eventSource: 's3.amazonaws.com', eventName: 'DeleteBucketPolicy', requestParameters: { bucketName: 'b' } },
    ],
  },
  'aws_cloudtrail_imds_malicious_usage.yml': {
    match: [{ eventSource: 's3.amazonaws.com', eventName: 'ListBuckets', sourceIPAddress: '198.51.100.7', userIdentity: { ...role, arn: 'arn:aws:sts::111122223333:assumed-role/aws:ec2-instance/i-0abc' } }],
    noMatch: [
      { eventSource: 'ssm.amazonaws.com', eventName: 'UpdateInstanceInformation', sourceIPAddress: '198.51.100.7', userIdentity: { ...role, arn: 'arn:aws:sts::111122223333:assumed-role/aws:ec2-instance/i-0abc' } },
      { eventSource: 's3.amazonaws.com', eventName: 'ListBuckets', sourceIPAddress: '198.51.100.7', userIdentity: role },
    ],
  },
  'aws_console_getsignintoken.yml': {
    match: [{ eventSource: 'signin.amazonaws.com', eventName: 'GetSigninToken', userAgent: 'python-requests/2.31' }],
    noMatch: [{ eventSource: 'signin.amazonaws.com', eventName: 'GetSigninToken', userAgent: 'Jersey/${project.version} (HttpUrlConnection 1.8.0_372)' }],
  },
  'aws_ec2_vm_export_failure.yml': {
    match: [{ eventSource: 'ec2.amazonaws.com', eventName: 'CreateInstanceExportTask', responseElements: { exportTask: { state: 'active' } } }],
    noMatch: [
      { eventSource: 'ec2.amazonaws.com', eventName: 'CreateInstanceExportTask', errorCode: 'InvalidParameter', errorMessage: 'bad' },
      { eventSource: 'ec2.amazonaws.com', eventName: 'CreateInstanceExportTask', responseElements: { exportTask: { state: 'Failure' } } },
    ],
  },
  'aws_iam_backdoor_users_keys.yml': {
    match: [{ eventSource: 'iam.amazonaws.com', eventName: 'CreateAccessKey', userIdentity: alice, requestParameters: { userName: 'bob' }, responseElements: { accessKey: { userName: 'bob', status: 'Active' } } }],
    noMatch: [{ eventSource: 'iam.amazonaws.com', eventName: 'DeleteAccessKey', userIdentity: alice, requestParameters: { userName: 'bob' } }],
  },
  'aws_update_login_profile.yml': {
    match: [{ eventSource: 'iam.amazonaws.com', eventName: 'UpdateLoginProfile', userIdentity: alice, requestParameters: { userName: 'bob' } }],
    noMatch: [{ eventSource: 'iam.amazonaws.com', eventName: 'UpdateLoginProfile', userIdentity: alice, requestParameters: { userName: 'arn:aws:iam::111122223333:user/alice' } }],
  },
  'aws_enum_buckets.yml': {
    match: [{ eventSource: 's3.amazonaws.com', eventName: 'ListBuckets', userIdentity: alice }],
    noMatch: [{ eventSource: 's3.amazonaws.com', eventName: 'ListBuckets', userIdentity: role }],
  },
  'aws_rds_change_master_password.yml': {
    match: [{ eventSource: 'rds.amazonaws.com', eventName: 'ModifyDBInstance', responseElements: { dBInstanceIdentifier: 'db', pendingModifiedValues: { masterUserPassword: '****' } } }],
    noMatch: [{ eventSource: 'rds.amazonaws.com', eventName: 'ModifyDBInstance', responseElements: { dBInstanceIdentifier: 'db', pendingModifiedValues: { allocatedStorage: 100 } } }],
  },
  'aws_rds_public_db_restore.yml': {
    match: [{ eventSource: 'rds.amazonaws.com', eventName: 'RestoreDBInstanceFromDBSnapshot', responseElements: { dBInstanceIdentifier: 'db', publiclyAccessible: true } }],
    noMatch: [{ eventSource: 'rds.amazonaws.com', eventName: 'RestoreDBInstanceFromDBSnapshot', responseElements: { dBInstanceIdentifier: 'db', publiclyAccessible: false } }],
  },
  'aws_root_account_usage.yml': {
    match: [{ eventSource: 'iam.amazonaws.com', eventName: 'CreateUser', eventType: 'AwsApiCall', userIdentity: { type: 'Root', accountId: '111122223333', arn: 'arn:aws:iam::111122223333:root', principalId: '111122223333' } }],
    noMatch: [
      { eventSource: 'kms.amazonaws.com', eventName: 'RotateKey', eventType: 'AwsServiceEvent', userIdentity: { type: 'Root', accountId: '111122223333', arn: 'arn:aws:iam::111122223333:root', principalId: '111122223333' } },
      { eventSource: 'iam.amazonaws.com', eventName: 'CreateUser', userIdentity: alice },
    ],
  },
  'aws_sts_assumerole_misuse.yml': {
    match: [{ eventSource: 's3.amazonaws.com', eventName: 'GetObject', userIdentity: role }],
    noMatch: [{ eventSource: 's3.amazonaws.com', eventName: 'GetObject', userIdentity: { ...role, sessionContext: { sessionIssuer: { type: 'Root' } } } }],
  },
  'aws_sts_getsessiontoken_misuse.yml': {
    match: [{ eventSource: 'sts.amazonaws.com', eventName: 'GetSessionToken', userIdentity: alice }],
    noMatch: [{ eventSource: 'sts.amazonaws.com', eventName: 'GetSessionToken', userIdentity: role }],
  },
  'aws_sso_idp_change.yml': {
    match: [
      { eventSource: 'sso.amazonaws.com', eventName: 'DisableExternalIdPConfigurationForDirectory' },
      { eventSource: 'sso-directory.amazonaws.com', eventName: 'AssociateDirectory' },
    ],
    noMatch: [{ eventSource: 'sso.amazonaws.com', eventName: 'ListDirectoryAssociations' }],
  },
  'aws_susp_saml_activity.yml': {
    match: [
      { eventSource: 'sts.amazonaws.com', eventName: 'AssumeRoleWithSAML' },
      { eventSource: 'iam.amazonaws.com', eventName: 'UpdateSAMLProvider' },
    ],
    noMatch: [{ eventSource: 'iam.amazonaws.com', eventName: 'AssumeRoleWithSAML' }],
  },
  'aws_cloudtrail_disable_logging.yml': {
    match: ['StopLogging', 'UpdateTrail', 'DeleteTrail'].map((eventName) => ({ eventSource: 'cloudtrail.amazonaws.com', eventName })),
    noMatch: [{ eventSource: 'cloudtrail.amazonaws.com', eventName: 'StartLogging' }],
  },
  'aws_cloudtrail_pua_trufflehog.yml': {
    match: [{ eventSource: 'sts.amazonaws.com', eventName: 'GetCallerIdentity', userAgent: 'trufflehog' }],
    noMatch: [{ eventSource: 'sts.amazonaws.com', eventName: 'GetCallerIdentity', userAgent: 'TruffleHog/3.0' }],
  },
  'aws_sts_getcalleridentity_trufflehog.yml': {
    match: [{ eventSource: 'sts.amazonaws.com', eventName: 'GetCallerIdentity', userAgent: 'TruffleHog/3.0' }],
    noMatch: [{ eventSource: 'sts.amazonaws.com', eventName: 'GetCallerIdentity', userAgent: 'aws-cli/2' }],
  },
};
