// The app shell: header (tenant, navigation, user, connection, theme) and the page of the route.
// Nothing but the login page shows until /auth/me says who is there; a 401 from any request
// brings the login page back (and then the route the user wanted). A kiosk link shows its
// wallboard only, without header.
import { html } from 'lit';
import { auth, Privilege } from './auth.js';
import { boot } from './boot.js';
import { LightElement } from './element.js';
import { live } from './live.js';
import { currentRoute, href, navigate } from './router.js';
import { session } from './session.js';
import { applyTheme, storedTheme } from './theme.js';
import { reloadAt } from './pages/login-page.js';
import './pages/admin-page.js';
import './pages/dashboards-page.js';
import './pages/dashboard-page.js';
import './pages/wallboard-page.js';
// The editing side: templates, the widget wizard, dashboard settings, import and export.
import './editor/routes.js';
import './editor/dashboard-actions.js';
import './editor/widget-wizard.js';
import './pages/templates-page.js';
import './pages/template-page.js';

const THEMES = ['auto', 'light', 'dark'];

class WbApp extends LightElement {
  static properties = {
    route: { state: true },
    connection: { state: true },
    tenant: { state: true },
    theme: { state: true },
    authState: { state: true },
    kioskRevoked: { state: true },
  };

  constructor() {
    super();
    this.route = currentRoute();
    this.connection = live.state;
    this.tenant = session.tenant;
    this.theme = storedTheme();
    applyTheme(this.theme);
    this.authState = auth.state;
    window.addEventListener('hashchange', () => {
      this.route = currentRoute();
      if (this.authState === 'out' && this.route.name !== 'login') this.toLogin();
    });
    document.addEventListener('wb-unauthenticated', () => {
      this.authState = auth.state;
      if (auth.state === 'out') this.toLogin();
      else if (auth.state === 'kiosk') {
        this.kioskRevoked = true;
        live.stop();
      }
    });
    this.start();
    live.addEventListener('wb-live-state', (event) => {
      this.connection = event.detail;
    });
    document.addEventListener('wb-tenant', (event) => {
      this.tenant = event.detail;
    });
    // An editor saved a dashboard or one of its widgets: the page showing it reads it again.
    document.addEventListener('wb-dashboard-changed', (event) => {
      const page = this.querySelector('wb-dashboard-page');
      if (page && page.uid === event.detail.uid && !event.detail.deleted) page.load?.();
    });
  }

  /** Who is there decides what shows: the login page, or the route and the live channel. */
  async start() {
    try {
      await auth.check();
    } catch {
      auth.state = 'out'; // the server is unreachable: the login page says so when tried
    }
    this.authState = auth.state;
    if (auth.state === 'out') this.toLogin();
    else live.connect();
  }

  /** The login page, remembering the route to go back to (the address bar keeps one entry). */
  toLogin() {
    if (this.route.name === 'login') return;
    const next = location.hash.replace(/^#/, '') || '/';
    history.replaceState(null, '', href('/login', { next }));
    this.route = currentRoute();
  }

  async logout() {
    await auth.logout().catch(() => {});
    reloadAt('/login');
  }

  /** The wizard's routes are not offered without the privilege (the API would refuse the
   * save); a link typed by hand shows the dashboard alone. */
  mayOpenWizard(name) {
    if (name === 'widget-add') return auth.may(Privilege.MANAGE_WIDGETS);
    return auth.may(Privilege.MANAGE_WIDGETS) || auth.may(Privilege.EDIT_WIDGET_DISPLAY);
  }

  cycleTheme() {
    this.theme = THEMES[(THEMES.indexOf(this.theme) + 1) % THEMES.length];
    applyTheme(this.theme, { remember: true });
  }

  page() {
    const { name, params, query } = this.route;
    const tenant = this.tenant;
    if (this.authState === 'checking') return html`<div class="empty">Loading…</div>`;
    if (this.authState === 'out' || name === 'login') {
      if (this.authState !== 'out') return html`<div class="empty">You are logged in as ${auth.user}. <a href="#/">All dashboards</a></div>`;
      return html`<wb-login-page .next=${query.next || '/'}></wb-login-page>`;
    }
    if (this.kioskRevoked) {
      return html`<div class="empty" role="alert">This kiosk link is no longer valid (revoked or expired): ask for a new one.</div>`;
    }
    if (this.authState === 'kiosk' && name !== 'wallboard') {
      return html`<div class="empty" role="alert">A kiosk link shows its wallboard only.</div>`;
    }
    if (!tenant) return html`<div class="empty">No tenant yet: create one with <code>wallboard tenant init</code>.</div>`;
    switch (name) {
      case 'dashboards':
        return html`<wb-dashboards-page .tenant=${tenant} .query=${query}></wb-dashboards-page>`;
      case 'dashboard':
      case 'widget-add':
      case 'widget-edit':
        return html`<wb-dashboard-actions .tenant=${tenant} .dashboard=${params.dashboard}></wb-dashboard-actions>
          <wb-dashboard-page .tenant=${tenant} .uid=${params.dashboard}></wb-dashboard-page>
          ${name === 'dashboard' || !this.mayOpenWizard(name)
            ? ''
            : html`<wb-widget-wizard .tenant=${tenant} .dashboard=${params.dashboard} .widgetUid=${params.widget ?? null}
                @wb-close=${() => navigate(`/dashboards/${params.dashboard}`)}></wb-widget-wizard>`}`;
      case 'templates':
        return html`<wb-templates-page .tenant=${tenant}></wb-templates-page>`;
      case 'template':
        return html`<wb-template-page .tenant=${tenant} .uid=${params.template}></wb-template-page>`;
      case 'widget':
        return html`<wb-dashboard-page .tenant=${tenant} .uid=${params.dashboard} .expanded=${params.widget}></wb-dashboard-page>`;
      case 'admin':
        return auth.may(Privilege.MANAGE_USERS)
          ? html`<wb-admin-page .tenant=${tenant}></wb-admin-page>`
          : html`<div class="empty" role="alert">Administration needs the manage-users privilege.</div>`;
      case 'wallboard':
        return html`<wb-wallboard-page .tenant=${tenant} .uid=${params.dashboard} .query=${query}></wb-wallboard-page>`;
      default:
        return html`<div class="empty" role="alert">No such page: <code>${this.route.path}</code>. <a href="#/">All dashboards</a></div>`;
    }
  }

  userBadge() {
    if (this.authState !== 'in') return '';
    return html`<span class="user" data-user=${auth.me.user} title="${auth.me.user} (${auth.me.roles.join(', ')}), tenant ${auth.me.tenant}">
        <span class="user-name">${auth.me.displayName || auth.me.user}</span>
      </span>
      <button type="button" class="logout" @click=${this.logout}>Log out</button>`;
  }

  render() {
    const loginPage = this.authState === 'out' || this.authState === 'checking';
    const kiosk = this.route.name === 'wallboard' || this.authState === 'kiosk';
    const chrome = !kiosk && !loginPage;
    document.documentElement.classList.toggle('kiosk', kiosk);
    const connectionText = { open: 'Live', connecting: 'Connecting…', closed: 'Disconnected' }[this.connection];
    return html`
      ${!chrome
        ? ''
        : html`<header class="app-header">
            <a class="brand" href="#/">Wallboard</a>
            <nav aria-label="Main">
              <a href=${href('/')} aria-current=${this.route.name === 'dashboards' && !this.route.query.kind ? 'page' : 'false'}>Dashboards</a>
              <a href=${href('/', { kind: 'wallboard' })} aria-current=${this.route.query.kind === 'wallboard' ? 'page' : 'false'}>Wallboards</a>
              <a href=${href('/templates')} aria-current=${this.route.name.startsWith('template') ? 'page' : 'false'}>Templates</a>
              ${auth.may(Privilege.MANAGE_USERS) && this.authState === 'in'
                ? html`<a href=${href('/admin')} aria-current=${this.route.name === 'admin' ? 'page' : 'false'}>Admin</a>`
                : ''}
            </nav>
            <span class="spacer"></span>
            <label class="tenant">
              <span>Tenant</span>
              <select aria-label="Tenant" @change=${(e) => session.setTenant(e.target.value)}>
                ${boot.tenants.map((t) => html`<option value=${t.id} ?selected=${t.id === this.tenant}>${t.name}</option>`)}
              </select>
            </label>
            ${this.userBadge()}
            <span class="connection ${this.connection}" role="status" aria-live="polite" data-state=${this.connection}
              title="Live channel: ${connectionText}"><span class="dot"></span>${connectionText}</span>
            <button class="icon-button" type="button" @click=${this.cycleTheme}
              aria-label="Theme: ${this.theme} (change)" title="Theme: ${this.theme}">
              ${{ auto: '◐', light: '☀', dark: '☾' }[this.theme]}
            </button>
          </header>`}
      ${this.connection === 'closed' && chrome
        ? html`<div class="banner" role="alert">Connection lost: values are not live. Reconnecting…</div>`
        : ''}
      <main class=${kiosk ? 'kiosk-main' : 'app-main'}>${this.page()}</main>
    `;
  }
}

customElements.define('wb-app', WbApp);
