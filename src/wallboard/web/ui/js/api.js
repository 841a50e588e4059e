// The REST API (docs/api.md): JSON in and out, ETags kept for If-Match, one error shape.
// Requests go with the session cookie and carry the CSRF token on a change (or a kiosk link's
// token); a 401 tells the shell to show the login page (auth.lost).
import { auth } from './auth.js';
import { boot } from './boot.js';

/** An error answer of the API: `code` is stable (branch on it), `message` is for people. */
export class ApiError extends Error {
  constructor(status, body) {
    super(body?.message || `HTTP ${status}`);
    this.status = status;
    this.code = body?.code || 'http_error';
    this.detail = body?.detail || [];
  }
}

async function request(method, path, { body, etag } = {}) {
  const headers = { accept: 'application/json', ...auth.headers(method) };
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (etag) headers['if-match'] = etag;
  const response = await fetch(`${boot.apiPrefix}${path}`, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    credentials: 'same-origin',
  });
  const text = await response.text();
  const data = text ? JSON.parse(text) : null;
  if (response.status === 401) auth.lost();
  if (!response.ok) throw new ApiError(response.status, data);
  return { data, etag: response.headers.get('etag') };
}

/** Calls under /api/v1/tenants/{tenant}; each returns {data, etag}. */
export function tenantApi(tenant) {
  const base = `/tenants/${encodeURIComponent(tenant)}`;
  return {
    get: (path) => request('GET', base + path),
    post: (path, body) => request('POST', base + path, { body }),
    put: (path, body) => request('PUT', base + path, { body }),
    patch: (path, body, etag) => request('PATCH', base + path, { body, etag }),
    delete: (path, etag) => request('DELETE', base + path, { etag }),
  };
}
