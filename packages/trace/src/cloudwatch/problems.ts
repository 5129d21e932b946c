/** An AWS error as a sentence that says what is missing and how to get it. */
export function awsProblem(error: unknown, what: string, permission: string, region: string): string {
  const name = error instanceof Error ? error.name : 'Error';
  const message = error instanceof Error ? error.message : JSON.stringify(error);
  if (/AccessDenied|UnauthorizedOperation|NotAuthorized/i.test(name)) {
    return `${what} could not be read: access denied (${name}). It needs the read-only permission ${permission} (docs/deploy.md, "Reading a run back from CloudWatch")`;
  }
  if (
    /Credentials|UnrecognizedClient|InvalidClientTokenId|ExpiredToken|InvalidSignature|SignatureDoesNotMatch/i.test(
      name,
    )
  ) {
    return `${what} could not be read: no valid AWS credentials (${name}: ${message}). Set them as for the AWS CLI (AWS_PROFILE, aws sso login, or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY)`;
  }
  if (name === 'ResourceNotFoundException') {
    return `${what} could not be read: it does not exist in ${region} (${message}). Check --aws-region and the name (--aws-outputs from the deployed stack)`;
  }
  return `${what} could not be read in ${region}: ${name}: ${message}`;
}
