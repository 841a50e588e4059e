// Which optional endpoints this server has, read once from its OpenAPI document: the UI asks
// before calling one that may be missing (object search), because a 404 in the browser's
// console is an error of its own.
import { boot } from '../boot.js';

let paths = null;

async function loadPaths() {
  const response = await fetch(`${boot.apiPrefix}/openapi.json`, { headers: { accept: 'application/json' } });
  if (!response.ok) return new Set();
  const document_ = await response.json();
  return new Set(Object.keys(document_.paths || {}));
}

/** Whether the API serves `path` (a template of the OpenAPI document, under the prefix). */
export async function hasEndpoint(path) {
  paths ??= loadPaths().catch(() => new Set());
  return (await paths).has(`${boot.apiPrefix}${path}`);
}

/** Whether object search (GET tenants/{tenant}/objects?type=&q=) is there. */
export function hasObjectSearch() {
  return hasEndpoint('/tenants/{tenant}/objects');
}
