// The editing actions of a dashboard's page: add a widget (the wizard's route), its settings
// (name, kind, sharing, rotation; delete), export. The dashboard page shows it in its head;
// a widget card links to `widgetEditHref` for its own "Edit".
import { html } from 'lit';
import { repeat } from 'lit/directives/repeat.js';
import { auth } from '../auth.js';
import { LightElement } from '../element.js';
import { href, navigate } from '../router.js';
import { errorMessage } from './errors.js';
import { exportToFile } from './transfer.js';
import './dashboard-dialog.js';

/** The wizard's route for a new widget on `dashboard`. */
export function widgetAddHref(dashboard) {
  return href(`/dashboards/${encodeURIComponent(dashboard)}/add-widget`);
}

/** The wizard's route for changing `widget` of `dashboard`. */
export function widgetEditHref(dashboard, widget) {
  return href(`/dashboards/${encodeURIComponent(dashboard)}/widgets/${encodeURIComponent(widget)}/edit`);
}

class WbDashboardActions extends LightElement {
  static properties = {
    tenant: {},
    dashboard: {}, // uid
    settings: { state: true },
    error: { state: true },
    loaded: { state: true },
  };

  constructor() {
    super();
    this.settings = null; // an object per opening of the settings dialog
    this.error = null;
    this.loaded = null; // the dashboard as the page read it: what may be done to it
    this.onLoaded = (event) => {
      if (event.detail.uid === this.dashboard) this.loaded = event.detail;
    };
  }

  connectedCallback() {
    super.connectedCallback();
    document.addEventListener('wb-dashboard-loaded', this.onLoaded);
  }

  disconnectedCallback() {
    super.disconnectedCallback();
    document.removeEventListener('wb-dashboard-loaded', this.onLoaded);
  }

  async exportIt() {
    this.error = null;
    try {
      await exportToFile(this.tenant, 'dashboard', this.dashboard);
    } catch (error) {
      this.error = errorMessage(error, 'this dashboard');
    }
  }

  render() {
    // Until the page has read the dashboard (owner, sharing) nothing but Export is offered.
    const known = this.loaded?.uid === this.dashboard ? this.loaded : null;
    return html`<div class="dashboard-actions" role="toolbar" aria-label="Edit dashboard">
      ${known && auth.mayManageWidgets(known)
        ? html`<a class="button primary" href=${widgetAddHref(this.dashboard)}>Add widget</a>`
        : ''}
      ${known && auth.mayChangeDashboard(known)
        ? html`<button type="button" @click=${() => (this.settings = {})}>Settings</button>`
        : ''}
      <button type="button" @click=${this.exportIt}>Export</button>
      ${this.error ? html`<span class="form-error" role="alert">${this.error}</span>` : ''}
      ${repeat(this.settings ? [this.settings] : [], (opened) => opened, (opened) =>
        html`<wb-dashboard-dialog .tenant=${this.tenant} .uid=${this.dashboard} @wb-deleted=${() => navigate('/')}
          @wb-close=${() => { if (this.settings === opened) this.settings = null; }}></wb-dashboard-dialog>`)}
    </div>`;
  }
}

customElements.define('wb-dashboard-actions', WbDashboardActions);
