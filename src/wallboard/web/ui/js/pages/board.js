// Loading a dashboard with the templates its widgets use, shared by the dashboard and
// wallboard pages.
import { tenantApi } from '../api.js';

/** {dashboard, etag, templates: Map uid → template}; rejects with the API's error for the
 * dashboard. A template that cannot be read maps to {error}: its widgets say so, the others
 * still show. */
export async function loadBoard(tenant, uid) {
  const api = tenantApi(tenant);
  const { data: dashboard, etag } = await api.get(`/dashboards/${encodeURIComponent(uid)}`);
  const uids = [...new Set(dashboard.widgets.map((w) => w.templateUid).filter(Boolean))];
  const templates = new Map();
  await Promise.all(
    uids.map(async (templateUid) => {
      try {
        const { data } = await api.get(`/templates/${encodeURIComponent(templateUid)}`);
        templates.set(templateUid, data);
      } catch (error) {
        templates.set(templateUid, { error: error.message });
      }
    }),
  );
  return { dashboard, etag, templates };
}

/** The grid's rows: the bottom of the lowest widget. */
export function rowsOf(widgets) {
  return Math.max(1, ...widgets.map((w) => w.position.y + w.position.h));
}
