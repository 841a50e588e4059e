// What an editor says when the API refuses a change (docs/api.md, "Errors"): a sentence a
// person can act on, never a bare status code.

/** A message for an ApiError (or any error) of a save, load or delete. */
export function errorMessage(error, what = 'this') {
  switch (error?.code) {
    case 'version_mismatch':
      return `Someone else changed ${what} since you opened it: reload to see their version, or overwrite it with yours.`;
    case 'conflict':
      return error.message;
    case 'invalid_input': {
      const fields = (error.detail || []).map((d) => `${(d.loc || []).filter((p) => p !== 'body').join('.')}: ${d.msg}`);
      return fields.length ? `Not saved: ${fields.join('; ')}` : `Not saved: ${error.message}`;
    }
    case 'not_found':
      return `${what[0].toUpperCase()}${what.slice(1)} no longer exists (${error.message}).`;
    case 'payload_too_large':
      return 'Not saved: the document is too large for the server.';
    default:
      return error?.message || String(error);
  }
}

/** Whether an error means "someone saved in between" (offer reload or overwrite). */
export function isVersionMismatch(error) {
  return error?.code === 'version_mismatch' || error?.status === 412;
}
