/** What the scenarios check in a response body, written once for both of them. */

/** The body as JSON, or undefined when there is none or it is not JSON (r.json() would throw). */
export function jsonBody(response) {
  if (!response.body) return undefined;
  try {
    return response.json();
  } catch {
    return undefined;
  }
}

/** The fields every todo has, with the types the API contract gives them. */
export function isTodo(value) {
  return (
    typeof value === 'object' &&
    value !== null &&
    Number.isInteger(value.id) &&
    typeof value.title === 'string' &&
    typeof value.completed === 'boolean' &&
    typeof value.created_at === 'string'
  );
}

export function isTodoList(value) {
  return Array.isArray(value) && value.every(isTodo);
}
