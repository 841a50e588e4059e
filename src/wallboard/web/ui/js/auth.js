// Who is using this tab (docs/ui.md, "Login, privileges and kiosk links"):
//   - a logged-in user: `/auth/me` (or the login's answer) gives their name, tenant, privileges
//     and the CSRF token every change must carry; the session itself is the HttpOnly cookie;
//   - a kiosk screen: the link's `?kiosk=<token>`, sent with every request and the live channel,
//     read-only, one wallboard;
//   - the allow-all policy (a development server): everyone may do everything, no login.
// The UI offers only what the user may do (`auth.may`); the API enforces it anyway.
import { boot } from './boot.js';

/** The privileges of the API (web/policy.py `Privilege`). */
export const Privilege = Object.freeze({
  VIEW_DASHBOARD: 'view-dashboard',
  VIEW_DASHBOARD_RESTRICTED: 'view-dashboard-restricted',
  MANAGE_TABS: 'manage-tabs',
  EDIT_WIDGET_DISPLAY: 'edit-widget-display',
  MANAGE_WIDGETS: 'manage-widgets',
  MANAGE_SHARED_DASHBOARDS: 'manage-shared-dashboards',
  MANAGE_TEMPLATES: 'manage-templates',
  EXCEED_LIMITS: 'exceed-limits',
  MANAGE_USERS: 'manage-users',
  MANAGE_CONFIGURATION: 'manage-configuration',
});

function kioskOfLink() {
  const token = new URLSearchParams(location.hash.split('?')[1] || '').get('kiosk');
  return token || null;
}

/** Whether the page shows a kiosk link (decided once: the token stays for the page's life). */
const kiosk = kioskOfLink();

export const auth = {
  /** 'kiosk' | 'allow-all' | 'checking' | 'in' | 'out' (a login is needed). */
  state: kiosk ? 'kiosk' : boot.policy === 'allow-all' ? 'allow-all' : boot.user ? 'checking' : 'out',
  kiosk,
  /** The caller as /auth/me tells: {user, displayName, tenant, roles, privileges, csrfToken}. */
  me: null,

  get user() {
    return this.me?.user ?? boot.user ?? null;
  },

  may(privilege) {
    if (this.state === 'allow-all') return true;
    return this.state === 'in' && this.me.privileges.includes(privilege);
  },

  /** May the caller change this dashboard's settings or layout at all (its owner needs
   * manage-tabs; anyone else's, manage-shared-dashboards)? */
  mayChangeDashboard(dashboard) {
    if (this.state === 'allow-all') return true;
    const own = !dashboard || dashboard.owner === this.user;
    return this.may(own ? Privilege.MANAGE_TABS : Privilege.MANAGE_SHARED_DASHBOARDS);
  },

  /** May the caller change how this dashboard's widgets look (layout, display)? */
  mayEditDisplay(dashboard) {
    return this.mayChangeDashboard(dashboard)
      && (this.may(Privilege.EDIT_WIDGET_DISPLAY) || this.may(Privilege.MANAGE_WIDGETS));
  },

  /** May the caller add, remove and redefine this dashboard's widgets? */
  mayManageWidgets(dashboard) {
    return this.mayChangeDashboard(dashboard) && this.may(Privilege.MANAGE_WIDGETS);
  },

  /** Asks the server who is logged in; state becomes 'in' or 'out'. */
  async check() {
    if (this.state !== 'checking') return this.state;
    const response = await fetch(`${boot.apiPrefix}/auth/me`, { headers: { accept: 'application/json' } });
    if (response.ok) this.signedIn(await response.json());
    else this.state = 'out';
    return this.state;
  },

  signedIn(me) {
    this.me = me;
    this.state = 'in';
  },

  /** Logs in; resolves to the caller, or rejects with {status, code, message, retryAfter}. */
  async login(username, password) {
    const response = await fetch(`${boot.apiPrefix}/auth/login`, {
      method: 'POST',
      headers: { accept: 'application/json', 'content-type': 'application/json' },
      body: JSON.stringify({ username, password }),
    });
    const body = await response.json().catch(() => null);
    if (!response.ok) {
      const retryAfter = Number(response.headers.get('retry-after')) || null;
      throw { status: response.status, code: body?.code, message: body?.message, retryAfter };
    }
    this.signedIn(body);
    return body;
  },

  async logout() {
    await fetch(`${boot.apiPrefix}/auth/logout`, {
      method: 'POST',
      headers: { 'x-csrf-token': this.me?.csrfToken ?? '' },
    });
    this.me = null;
    this.state = 'out';
  },

  /** The headers a request carries: the kiosk token, or the CSRF token on a change. */
  headers(method) {
    if (this.kiosk) return { authorization: `Kiosk ${this.kiosk}` };
    if (method !== 'GET' && method !== 'HEAD' && this.me?.csrfToken) return { 'x-csrf-token': this.me.csrfToken };
    return {};
  },

  /** `url` with the kiosk token as a query parameter (links and the WebSocket send no header). */
  withKiosk(url) {
    if (!this.kiosk) return url;
    return `${url}${url.includes('?') ? '&' : '?'}kiosk=${encodeURIComponent(this.kiosk)}`;
  },

  /** Tells the shell a request found no valid session (or a revoked kiosk link). */
  lost() {
    if (this.state === 'allow-all') return;
    if (this.state !== 'kiosk') this.state = 'out';
    document.dispatchEvent(new CustomEvent('wb-unauthenticated'));
  },
};
