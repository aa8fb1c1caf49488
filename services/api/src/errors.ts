import { OpentrailError } from '@opentrail/errors';
/**
 * An error the API answers with: CloudTrail's error code (`__type`), its message and the HTTP
 * status (400 for everything a caller did wrong, as CloudTrail answers; cloudtrail-spec.md §5).
 */
export class ApiError extends OpentrailError {
  constructor(
    code: string,
    message: string,
    readonly status = 400,
  ) {
    super(code, message);
  }
}
