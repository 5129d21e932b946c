import createError from '@fastify/error';

/**
 * The errors packages/observability creates, each with a code that callers check
 * (docs/design.md, Errors).
 */

export const LOG_GROUP_MISSING_CODE = 'TASKOVERFLOW_CLOUDWATCH_LOG_GROUP_MISSING';
/** The log group does not exist and the shipper was not asked to create it (createLogGroup). */
export const LogGroupMissingError = createError<
  typeof LOG_GROUP_MISSING_CODE,
  [logGroupName: string, logGroupName: string]
>(
  LOG_GROUP_MISSING_CODE,
  'the log group "%s" does not exist, and this service creates none unless asked: ' +
    "create it (pulumi up creates the stack's group; elsewhere aws logs create-log-group --log-group-name %s), " +
    'or set CLOUDWATCH_CREATE_LOG_GROUP=true to let the service create it (never for a group Pulumi manages)',
);
