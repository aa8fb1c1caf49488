/**
 * The errorCode values with which AWS services say "the caller lacks permission" (as opposed to
 * "the caller is unknown" or "the request is wrong"): what opentrail's `AccessDenied` filter
 * matches. Gathered from the services' own error lists: the generic AccessDenied of S3 and the
 * Query APIs, AccessDeniedException of the JSON services, EC2's UnauthorizedOperation (and the
 * `Client.` prefixed form CloudTrail records for EC2), SNS's AuthorizationError, GuardDuty's
 * UnauthorizedAccess, and the REST services' 401/403 codes.
 */
export const PERMISSION_ERROR_CODES: readonly string[] = Object.freeze([
  'AccessDenied',
  'AccessDeniedException',
  'Client.AccessDenied',
  'Client.AccessDeniedException',
  'UnauthorizedOperation',
  'Client.UnauthorizedOperation',
  'UnauthorizedAccess',
  'UnauthorizedAccessException',
  'UnauthorizedException',
  'Unauthorized',
  'AuthorizationError',
  'AuthorizationErrorException',
  'AuthorizationException',
  'NotAuthorized',
  'NotAuthorizedException',
  'Forbidden',
  'ForbiddenException',
  'InsufficientPermissionsException',
  'AccessDeniedForDependencyException',
  'AllAccessDisabled',
]);
