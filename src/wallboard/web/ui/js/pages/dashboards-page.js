// The list of dashboards and wallboards the user may see (all, or ?kind=dashboard|wallboard),
// split into the user's own (Mine) and those others share; under the allow-all policy the
// private ones of others are visible too, and listed apart.
import { html } from 'lit';
import { repeat } from 'lit/directives/repeat.js';
import { auth, Privilege } from '../auth.js';
import { boot } from '../boot.js';
import { LightElement } from '../element.js';
import { href, navigate } from '../router.js';
import { tenantApi } from '../api.js';
import { errorMessage } from '../editor/errors.js';
import { exportToFile } from '../editor/transfer.js';
import '../editor/dashboard-dialog.js';

/**
 * The list's sections: the user's own (Mine), those others share (Shared) and, when the policy
 * lets the user see them, others' private ones. Mine and Shared are always shown.
 */
export function groupsOf(items, user = boot.user) {
  const mine = items.filter((item) => user !== null && item.owner === user);
  const others = items.filter((item) => !(user !== null && item.owner === user));
  const groups = [
    { key: 'mine', title: 'Mine', empty: 'None of your own yet.', items: mine },
    { key: 'shared', title: 'Shared', empty: 'Nobody shares one yet.', items: others.filter((item) => item.shared) },
  ];
  const hidden = others.filter((item) => !item.shared);
  if (hidden.length) groups.push({ key: 'private', title: 'Private to others', empty: '', items: hidden });
  return groups;
}

class WbDashboardsPage extends LightElement {
  static properties = {
    tenant: {},
    query: {},
    items: { state: true },
    error: { state: true },
    dialog: { state: true },
    notice: { state: true },
  };

  constructor() {
    super();
    this.items = null;
    this.error = null;
    this.query = {};
    this.dialog = null; // {uid} of the dashboard whose settings are open, or {kind} of a new one
    this.notice = null;
  }

  created(event) {
    const item = event.detail;
    if (this.dialog?.uid) {
      this.load();
      return;
    }
    // A new one opens where widgets are added (a wallboard too: its full screen comes after).
    navigate(`/dashboards/${item.uid}`);
  }

  async exportItem(item) {
    this.notice = null;
    try {
      await exportToFile(this.tenant, 'dashboard', item.uid);
    } catch (error) {
      this.notice = errorMessage(error, `“${item.name}”`);
    }
  }

  renderDialog() {
    // Keyed by the opening itself: opening again makes a new dialog, and the late 'close' of
    // the previous one (the browser fires it as a task of its own) cannot close the new one.
    return repeat(this.dialog ? [this.dialog] : [], (opened) => opened, (opened) =>
      html`<wb-dashboard-dialog .tenant=${this.tenant} .uid=${opened.uid ?? null} .kind=${opened.kind ?? 'dashboard'}
        @wb-saved=${this.created} @wb-deleted=${() => this.load()}
        @wb-close=${() => { if (this.dialog === opened) this.dialog = null; }}></wb-dashboard-dialog>`);
  }

  updated(changed) {
    if (changed.has('tenant')) {
      this.items = null;
      this.load();
    }
  }

  /** (Re)reads the list; the one shown stays until the new one is there. */
  async load() {
    this.error = null;
    try {
      const { data } = await tenantApi(this.tenant).get('/dashboards?limit=100&sorting=name');
      this.items = data.items;
    } catch (error) {
      this.error = error.message;
    }
  }

  renderCard(item, link) {
    // Only what the user may do is offered (auth.js); the API refuses the rest anyway.
    const mayChange = auth.mayChangeDashboard(item);
    const mayEdit = auth.mayEditDisplay(item);
    return html`<li class="card dashboard-card" data-uid=${item.uid}>
      <a class="card-link" href=${link(item)}>
        <span class="card-title">${item.name}</span>
        <span class="badge kind-${item.kind}">${item.kind === 'wallboard' ? 'Wallboard' : 'Dashboard'}</span>
      </a>
      <p class="muted">${item.description || ''}</p>
      ${item.kind === 'wallboard' && mayEdit
        ? html`<p class="meta"><a href=${href(`/dashboards/${item.uid}`)} aria-label="Edit the layout of ${item.name}">Edit layout</a></p>`
        : ''}
      <p class="meta">
        ${item.widgets.length} widget${item.widgets.length === 1 ? '' : 's'} ·
        ${item.shared ? 'shared' : 'private'} · ${item.owner}
        ${item.kind === 'wallboard' && item.rotation?.dashboards?.length
          ? html` · rotates through ${item.rotation.dashboards.length} every ${item.rotation.intervalSeconds} s`
          : ''}
      </p>
      <p class="card-actions">
        ${mayChange
          ? html`<button type="button" @click=${() => (this.dialog = { uid: item.uid })} aria-label="Settings of ${item.name}">Settings</button>`
          : ''}
        <button type="button" @click=${() => this.exportItem(item)} aria-label="Export ${item.name}">Export</button>
        ${item.kind === 'wallboard' && mayEdit
          ? html`<a class="button" href=${href(`/dashboards/${item.uid}`)} aria-label="Edit widgets of ${item.name}">Edit widgets</a>`
          : ''}
      </p>
    </li>`;
  }

  render() {
    if (this.error) return html`<div class="empty" role="alert">Could not load the dashboards: ${this.error}</div>`;
    if (this.items === null) return html`<div class="empty">Loading…</div>`;
    const kind = this.query?.kind;
    const items = this.items.filter((item) => !kind || item.kind === kind);
    const link = (item) => (item.kind === 'wallboard' ? href(`/wallboards/${item.uid}`) : href(`/dashboards/${item.uid}`));
    return html`
      <div class="page-head">
        <h1>${kind === 'wallboard' ? 'Wallboards' : kind === 'dashboard' ? 'Dashboards' : 'Dashboards and wallboards'}</h1>
        ${auth.may(Privilege.MANAGE_TABS)
          ? html`<div class="actions">
              <wb-import-button .tenant=${this.tenant} @wb-imported=${() => this.load()}></wb-import-button>
              <button type="button" class="primary" @click=${() => (this.dialog = { kind: kind === 'wallboard' ? 'wallboard' : 'dashboard' })}>
                New ${kind === 'wallboard' ? 'wallboard' : 'dashboard'}
              </button>
            </div>`
          : ''}
      </div>
      ${this.notice ? html`<p class="form-error" role="alert">${this.notice}</p>` : ''}
      ${this.renderDialog()}
      ${items.length === 0 ? html`<div class="empty">Nothing here yet.</div>` : groupsOf(items).map(
        (group) => html`<section class="dashboard-group" data-group=${group.key} aria-labelledby="group-${group.key}">
          <h2 id="group-${group.key}">${group.title} <span class="muted">(${group.items.length})</span></h2>
          ${group.items.length === 0 ? html`<p class="muted">${group.empty}</p>` : ''}
          <ul class="card-list" aria-label=${group.title}>
            ${group.items.map((item) => this.renderCard(item, link))}
          </ul>
        </section>`,
      )}
    `;
  }
}

customElements.define('wb-dashboards-page', WbDashboardsPage);
