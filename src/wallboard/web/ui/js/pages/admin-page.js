// Administration (#/admin, manage-users): the tenant's users (list, create), kiosk links of
// its wallboards (create, copy the link shown once, revoke) and the audit log, newest first.
import { html } from 'lit';
import { tenantApi } from '../api.js';
import { LightElement } from '../element.js';
import { errorMessage } from '../editor/errors.js';

const ROLES = ['wall-display', 'viewer', 'supervisor', 'manager', 'administrator'];

function when(iso) {
  return iso ? new Date(iso).toLocaleString() : '';
}

class WbAdminPage extends LightElement {
  static properties = {
    tenant: {},
    users: { state: true },
    links: { state: true },
    wallboards: { state: true },
    audit: { state: true },
    error: { state: true },
    notice: { state: true },
    failure: { state: true },
    issued: { state: true },
  };

  constructor() {
    super();
    this.users = null;
    this.links = null;
    this.wallboards = [];
    this.audit = null;
    this.error = null;
    this.notice = null;
    this.failure = null;
    this.failure = null;
    this.issued = null; // the kiosk link just made: its URL is shown this once
  }

  get api() {
    return tenantApi(this.tenant);
  }

  updated(changed) {
    if (changed.has('tenant')) this.load();
  }

  async load() {
    this.error = null;
    try {
      const [users, links, boards, audit] = await Promise.all([
        this.api.get('/users?limit=100'),
        this.api.get('/kiosk-links'),
        this.api.get('/dashboards?limit=100&sorting=name'),
        this.api.get('/audit?limit=50'),
      ]);
      this.users = users.data.items;
      this.links = links.data;
      this.wallboards = boards.data.items.filter((d) => d.kind === 'wallboard');
      this.audit = audit.data.items;
    } catch (error) {
      this.error = errorMessage(error, 'the administration');
    }
  }

  async createUser(event) {
    event.preventDefault();
    const form = new FormData(event.target);
    const body = {
      username: String(form.get('username') || '').trim(),
      displayName: String(form.get('displayName') || '').trim() || null,
      password: String(form.get('password') || '') || null,
      roles: [String(form.get('role'))],
    };
    this.notice = null;
    this.failure = null;
    try {
      await this.api.post('/users', body);
      event.target.reset();
      this.notice = `User “${body.username}” created.`;
      await this.load();
    } catch (error) {
      this.failure = errorMessage(error, `the user “${body.username}”`);
    }
  }

  async createLink(event) {
    event.preventDefault();
    const form = new FormData(event.target);
    const body = { wallboard: String(form.get('wallboard')), name: String(form.get('name') || '').trim() };
    this.notice = null;
    this.failure = null;
    try {
      const { data } = await this.api.post('/kiosk-links', body);
      this.issued = { ...data, url: new URL(data.url, location.origin).href };
      event.target.reset();
      await this.load();
    } catch (error) {
      this.failure = errorMessage(error, 'the kiosk link');
    }
  }

  async copyLink() {
    try {
      await navigator.clipboard.writeText(this.issued.url);
      this.notice = 'Link copied.';
    } catch {
      this.querySelector('.issued-url')?.select();
      this.failure = 'Copy the selected link (the browser refused the clipboard).';
    }
  }

  async revoke(link) {
    if (!confirm(`Revoke the kiosk link “${link.name}”? Screens showing it stop.`)) return;
    this.notice = null;
    this.failure = null;
    try {
      await this.api.delete(`/kiosk-links/${link.id}`);
      if (this.issued?.id === link.id) this.issued = null;
      this.notice = `Kiosk link “${link.name}” revoked.`;
      await this.load();
    } catch (error) {
      this.failure = errorMessage(error, `the kiosk link “${link.name}”`);
    }
  }

  renderUsers() {
    return html`<section aria-labelledby="admin-users">
      <h2 id="admin-users">Users</h2>
      <table class="editor-table" aria-label="Users">
        <thead><tr><th scope="col">Username</th><th scope="col">Name</th><th scope="col">Roles</th><th scope="col">State</th></tr></thead>
        <tbody>${this.users.map((u) => html`<tr data-user=${u.username}>
          <th scope="row">${u.username}</th><td>${u.displayName}</td><td>${u.roles.join(', ')}</td>
          <td>${u.disabled ? 'disabled' : u.hasPassword ? 'active' : 'no password'}</td></tr>`)}</tbody>
      </table>
      <form class="editor-form admin-form" @submit=${this.createUser} aria-label="New user">
        <label class="field"><span>Username</span><input name="username" required maxlength="100" autocomplete="off"></label>
        <label class="field"><span>Display name</span><input name="displayName" maxlength="200"></label>
        <label class="field"><span>Password</span><input name="password" type="password" autocomplete="new-password"></label>
        <label class="field"><span>Role</span><select name="role">
          ${ROLES.map((r) => html`<option value=${r} ?selected=${r === 'viewer'}>${r}</option>`)}
        </select></label>
        <button type="submit" class="primary">Create user</button>
      </form>
    </section>`;
  }

  renderLinks() {
    return html`<section aria-labelledby="admin-kiosk">
      <h2 id="admin-kiosk">Kiosk links</h2>
      <p class="muted">A read-only link showing one wallboard without a login, until revoked.</p>
      ${this.issued
        ? html`<div class="issued" role="status">
            <span>Link for “${this.issued.name}” (shown this once):</span>
            <input class="issued-url" readonly aria-label="Kiosk link" .value=${this.issued.url}>
            <button type="button" @click=${this.copyLink}>Copy</button>
          </div>`
        : ''}
      <table class="editor-table" aria-label="Kiosk links">
        <thead><tr><th scope="col">Name</th><th scope="col">Wallboard</th><th scope="col">Made</th><th scope="col">State</th><th scope="col"><span class="visually-hidden">Actions</span></th></tr></thead>
        <tbody>${this.links.map((l) => html`<tr data-link=${l.id}>
          <th scope="row">${l.name}</th><td>${l.wallboard}</td><td>${when(l.createdAt)} · ${l.createdBy}</td>
          <td>${l.revokedAt ? `revoked ${when(l.revokedAt)}` : 'active'}</td>
          <td class="row-actions">${l.revokedAt
            ? ''
            : html`<button type="button" class="danger" @click=${() => this.revoke(l)} aria-label="Revoke ${l.name}">Revoke</button>`}</td></tr>`)}</tbody>
      </table>
      ${this.wallboards.length
        ? html`<form class="editor-form admin-form" @submit=${this.createLink} aria-label="New kiosk link">
            <label class="field"><span>Wallboard</span><select name="wallboard">
              ${this.wallboards.map((w) => html`<option value=${w.uid}>${w.name}</option>`)}
            </select></label>
            <label class="field"><span>Name (where the screen is)</span><input name="name" required maxlength="200"></label>
            <button type="submit" class="primary">Create kiosk link</button>
          </form>`
        : html`<p class="muted">No wallboard yet: a kiosk link shows one.</p>`}
    </section>`;
  }

  renderAudit() {
    return html`<section aria-labelledby="admin-audit">
      <h2 id="admin-audit">Audit log</h2>
      <table class="editor-table" aria-label="Audit log">
        <thead><tr><th scope="col">When</th><th scope="col">Who</th><th scope="col">What</th><th scope="col">On</th><th scope="col">From</th></tr></thead>
        <tbody>${this.audit.map((a) => html`<tr>
          <td>${when(a.at)}</td><td>${a.actor}</td><td>${a.action}</td><td>${a.target}</td><td>${a.client}</td></tr>`)}</tbody>
      </table>
    </section>`;
  }

  render() {
    if (this.error) return html`<div class="empty" role="alert">${this.error}</div>`;
    if (this.users === null) return html`<div class="empty">Loading…</div>`;
    return html`
      <div class="page-head"><h1>Administration</h1></div>
      ${this.notice ? html`<p class="form-ok" role="status">${this.notice}</p>` : ''}
      ${this.failure ? html`<p class="form-error" role="alert">${this.failure}</p>` : ''}
      ${this.renderUsers()} ${this.renderLinks()} ${this.renderAudit()}
    `;
  }
}

customElements.define('wb-admin-page', WbAdminPage);
