import type { CloudTrailRecord } from '@opentrail/cloudtrail';

/**
 * Real-looking CloudTrail records, shaped after the User Guide's examples (cloudtrail-spec.md
 * §1.4-1.5) and the real records in test/fixtures/cloudtrail-records.ndjson.
 */

/** IAM user with console credentials (cloudtrail-spec.md §1.5, the User Guide's StartLogging). */
export const iamUserStartLogging: CloudTrailRecord = {
  eventVersion: '1.09',
  userIdentity: {
    type: 'IAMUser',
    principalId: 'EXAMPLE6E4XEGITWATV6R',
    arn: 'arn:aws:iam::123456789012:user/Mary_Major',
    accountId: '123456789012',
    accessKeyId: 'AKIAIOSFODNN7EXAMPLE',
    userName: 'Mary_Major',
    sessionContext: { attributes: { creationDate: '2023-07-19T21:11:57Z', mfaAuthenticated: 'false' } },
  },
  eventTime: '2023-07-19T21:33:41Z',
  eventSource: 'cloudtrail.amazonaws.com',
  eventName: 'StartLogging',
  awsRegion: 'us-east-1',
  sourceIPAddress: '192.0.2.0',
  userAgent: 'aws-cli/2.13.5 Python/3.11.4 Linux/4.14.255-314-253.539.amzn2.x86_64 exec-env/CloudShell exe/x86_64.amzn.2 prompt/off command/cloudtrail.start-logging',
  requestParameters: { name: 'myTrail' },
  responseElements: null,
  requestID: '9d478fc1-4f10-490f-a26b-EXAMPLE0e932',
  eventID: 'eae87c48-d421-4626-94f5-EXAMPLEac994',
  readOnly: false,
  eventType: 'AwsApiCall',
  managementEvent: true,
  recipientAccountId: '123456789012',
  eventCategory: 'Management',
  tlsDetails: { tlsVersion: 'TLSv1.2', cipherSuite: 'ECDHE-RSA-AES128-GCM-SHA256', clientProvidedHostHeader: 'cloudtrail.us-east-1.amazonaws.com' },
  sessionCredentialFromConsole: 'true',
};

/** Assumed role on EC2 (IMDSv2), with the session context in full and an S3 data event's resources. */
export const assumedRoleGetObject: CloudTrailRecord = {
  eventVersion: '1.10',
  userIdentity: {
    type: 'AssumedRole',
    principalId: 'AROAIDPPEZS35WEXAMPLE:i-0123456789abcdef0',
    arn: 'arn:aws:sts::111122223333:assumed-role/app-role/i-0123456789abcdef0',
    accountId: '111122223333',
    accessKeyId: 'ASIAIOSFODNN7EXAMPLE',
    sessionContext: {
      sessionIssuer: { type: 'Role', principalId: 'AROAIDPPEZS35WEXAMPLE', arn: 'arn:aws:iam::111122223333:role/app-role', accountId: '111122223333', userName: 'app-role' },
      webIdFederationData: {},
      attributes: { creationDate: '20131102T010628Z', mfaAuthenticated: 'false' },
      ec2RoleDelivery: '2.0',
      sourceIdentity: 'alice',
    },
  },
  eventTime: '2026-12-07T23:59:59Z',
  eventSource: 's3.amazonaws.com',
  eventName: 'GetObject',
  awsRegion: 'eu-west-1',
  sourceIPAddress: '10.0.12.7',
  userAgent: '[aws-sdk-java/2.20.160 Linux/5.10 OpenJDK_64-Bit_Server_VM/17]',
  requestParameters: { bucketName: 'invoices', Host: 'invoices.s3.eu-west-1.amazonaws.com', key: '2026/12/07/ünïcødé €.pdf' },
  responseElements: null,
  additionalEventData: { SignatureVersion: 'SigV4', CipherSuite: 'TLS_AES_128_GCM_SHA256', bytesTransferredIn: 0, AuthenticationMethod: 'AuthHeader', 'x-amz-id-2': 'EXAMPLEid2', bytesTransferredOut: 48213 },
  requestID: 'EXAMPLE5QJ9B1J3F',
  eventID: '4fcd1ae8-6b76-4e5b-8d0f-0c7c5b2ab111',
  readOnly: true,
  resources: [
    { type: 'AWS::S3::Object', ARN: 'arn:aws:s3:::invoices/2026/12/07/ünïcødé €.pdf' },
    { accountId: '111122223333', type: 'AWS::S3::Bucket', ARN: 'arn:aws:s3:::invoices' },
  ],
  eventType: 'AwsApiCall',
  managementEvent: false,
  recipientAccountId: '111122223333',
  vpcEndpointId: 'vpce-EXAMPLE08c1b6b9b7',
  vpcEndpointAccountId: '111122223333',
  eventCategory: 'Data',
  tlsDetails: { tlsVersion: 'TLSv1.3', cipherSuite: 'TLS_AES_128_GCM_SHA256', clientProvidedHostHeader: 'invoices.s3.eu-west-1.amazonaws.com', keyExchange: 'X25519MLKEM768' },
};

/** An AWS service acting in the account: userIdentity without principal or ARN, invokedBy set. */
export const awsServiceEvent: CloudTrailRecord = {
  eventVersion: '1.08',
  userIdentity: { accountId: '111122223333', invokedBy: 'cloudtrail.amazonaws.com', type: 'AWSService' },
  eventTime: '2026-01-01T00:00:00Z',
  eventSource: 'kms.amazonaws.com',
  eventName: 'GenerateDataKey',
  awsRegion: 'us-east-2',
  sourceIPAddress: 'cloudtrail.amazonaws.com',
  userAgent: 'cloudtrail.amazonaws.com',
  requestParameters: {
    keySpec: 'AES_256',
    encryptionContext: { 'aws:cloudtrail:arn': 'arn:aws:cloudtrail:us-east-2:111122223333:trail/main', 'aws:s3:arn': 'arn:aws:s3:::trail-bucket/AWSLogs/111122223333/CloudTrail/us-east-2/2026/01/01/f.json.gz' },
  },
  responseElements: null,
  requestID: 'a1b2c3d4-0000-4000-8000-000000000001',
  eventID: 'a1b2c3d4-0000-4000-8000-000000000002',
  readOnly: true,
  resources: [{ accountId: '111122223333', type: 'AWS::KMS::Key', ARN: 'arn:aws:kms:us-east-2:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab' }],
  eventType: 'AwsApiCall',
  managementEvent: true,
  recipientAccountId: '111122223333',
  sharedEventID: 'c1f1c1d4-5e6f-4a7b-8c9d-0e1f2a3b4c5d',
  eventCategory: 'Management',
};

/** A denied call: errorCode and errorMessage, no response. */
export const accessDenied: CloudTrailRecord = {
  eventVersion: '1.09',
  userIdentity: {
    type: 'AssumedRole',
    principalId: 'AROA5EXAMPLE:stratus',
    arn: 'arn:aws:sts::751353041310:assumed-role/stratus-red-team-role/stratus',
    accountId: '751353041310',
    accessKeyId: 'ASIA5EXAMPLE',
    sessionContext: {
      sessionIssuer: { type: 'Role', principalId: 'AROA5EXAMPLE', arn: 'arn:aws:iam::751353041310:role/stratus-red-team-role', accountId: '751353041310', userName: 'stratus-red-team-role' },
      attributes: { creationDate: '2024-07-30T21:31:10Z', mfaAuthenticated: 'false' },
    },
  },
  eventTime: '2024-07-30T21:31:21Z',
  eventSource: 'ec2.amazonaws.com',
  eventName: 'GetPasswordData',
  awsRegion: 'us-east-1',
  sourceIPAddress: '203.0.113.9',
  userAgent: 'stratus-red-team_4fe2b8a4',
  errorCode: 'Client.UnauthorizedOperation',
  errorMessage: 'You are not authorized to perform this operation. User: arn:aws:sts::751353041310:assumed-role/stratus-red-team-role/stratus is not authorized to perform: ec2:GetPasswordData',
  requestParameters: { instanceId: 'i-0a1b2c3d4e5f60718' },
  responseElements: null,
  requestID: 'b20c2df5-71d5-441e-84c8-b424f1c78ffb',
  eventID: '450230d4-b39e-4a18-a6a0-d07a6e2105cb',
  readOnly: true,
  eventType: 'AwsApiCall',
  managementEvent: true,
  recipientAccountId: '751353041310',
  eventCategory: 'Management',
  tlsDetails: { tlsVersion: 'TLSv1.2', cipherSuite: 'ECDHE-RSA-AES128-GCM-SHA256', clientProvidedHostHeader: 'ec2.us-east-1.amazonaws.com' },
};

/** Nested request parameters of every JSON kind (EC2 AuthorizeSecurityGroupIngress). */
export const nestedRequestParameters: CloudTrailRecord = {
  eventVersion: '1.09',
  userIdentity: { type: 'Root', principalId: '111122223333', arn: 'arn:aws:iam::111122223333:root', accountId: '111122223333', accessKeyId: 'ASIAROOTEXAMPLE' },
  eventTime: '2026-06-30T12:00:00Z',
  eventSource: 'ec2.amazonaws.com',
  eventName: 'AuthorizeSecurityGroupIngress',
  awsRegion: 'eu-central-1',
  sourceIPAddress: '198.51.100.4',
  userAgent: 'console.amazonaws.com',
  requestParameters: {
    groupId: 'sg-0123456789abcdef0',
    ipPermissions: { items: [{ ipProtocol: 'tcp', fromPort: 22, toPort: 22, ipRanges: { items: [{ cidrIp: '0.0.0.0/0' }] } }] },
    dryRun: false,
    maxResults: 1000,
    tags: [],
    nothing: null,
    'quote"and\\slash': 'line\nbreak',
  },
  responseElements: { requestId: 'e5b3c6a7-0000-4000-8000-000000000003', _return: true, securityGroupRuleSet: { items: [{ groupId: 'sg-0123456789abcdef0', isEgress: false }] } },
  requestID: 'e5b3c6a7-0000-4000-8000-000000000003',
  eventID: 'e5b3c6a7-0000-4000-8000-000000000004',
  readOnly: false,
  eventType: 'AwsApiCall',
  apiVersion: '2016-11-15',
  managementEvent: true,
  recipientAccountId: '111122223333',
  eventCategory: 'Management',
  addendum: { reason: 'UPDATED_DATA', updatedFields: 'responseElements', originalRequestID: 'x', originalEventID: 'y' },
  annotation: 'note',
};

/** Identity Center caller with S3 list resources (ARNPrefix) and an unknown member. */
export const identityCenterListObjects: CloudTrailRecord = {
  eventVersion: '1.11',
  userIdentity: {
    type: 'IdentityCenterUser',
    accountId: '123456789012',
    onBehalfOf: { userId: '544894e8-80c1-707f-60e3-3ba6510dfac1', identityStoreArn: 'arn:aws:identitystore::123456789012:identitystore/d-9067642ac7' },
    credentialId: 'EXAMPLEVHULjJdTUdPJfofVa1sufHDoj7aYcOYcxFVllWR_Whr1fEXAMPLE',
    inScopeOf: { sourceArn: 'arn:aws:lambda:us-east-1:123456789012:function:f', issuerType: 'AWS::Lambda::Function', credentialsIssuedTo: 'arn:aws:sts::123456789012:assumed-role/r/f' },
  },
  eventTime: '0099-03-01T00:00:00Z',
  eventSource: 's3.amazonaws.com',
  eventName: 'ListObjects',
  awsRegion: 'us-east-1',
  sourceIPAddress: '192.0.2.1',
  requestParameters: { bucketName: 'reports', prefix: '' },
  responseElements: null,
  eventID: '0f0f0f0f-0000-4000-8000-000000000005',
  readOnly: true,
  // CloudTrailRecord's resources type does not name ARNPrefix (S3 list calls have it).
  resources: [{ type: 'AWS::S3::Object', ARNPrefix: 'arn:aws:s3:::reports/' }] as unknown as CloudTrailRecord['resources'],
  eventType: 'AwsApiCall',
  managementEvent: false,
  eventCategory: 'Data',
  eventContext: { tagContext: { resourceTags: [{ arn: 'arn:aws:s3:::reports', tags: { team: 'finance' } }] } },
  'x-unknown': { kept: 'in eventjson only' },
};

export const realLookingRecords = {
  iamUserStartLogging,
  assumedRoleGetObject,
  awsServiceEvent,
  accessDenied,
  nestedRequestParameters,
  identityCenterListObjects,
} as const;
