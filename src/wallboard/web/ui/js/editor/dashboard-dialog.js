// Create a dashboard or wallboard, or change one: name, description, kind, shared or private,
// a wallboard's rotation; and delete it. Fires 'wb-saved' ({detail: the dashboard}) or
// 'wb-deleted' ({detail: uid}) before closing.
import { html } from 'lit';
import { tenantApi } from '../api.js';
import { auth, Privilege } from '../auth.js';
import { EditorDialog } from './dialog.js';
import { errorMessage, isVersionMismatch } from './errors.js';

class WbDashboardDialog extends EditorDialog {
  static properties = {
    tenant: {},
    uid: {}, // null: a new one
    kind: {}, // the kind a new one starts as
    draft: { state: true },
    others: { state: true },
    error: { state: true },
    mismatch: { state: true },
    confirmDelete: { state: true },
    busy: { state: true },
  };

  constructor() {
    super();
    this.uid = null;
    this.kind = 'dashboard';
    this.draft = null;
    this.others = [];
    this.etag = null;
    this.error = null;
    this.mismatch = false;
    this.confirmDelete = false;
    this.busy = false;
  }

  connectedCallback() {
    super.connectedCallback();
    this.load();
  }

  get api() {
    return tenantApi(this.tenant);
  }

  async load() {
    this.error = null;
    this.mismatch = false;
    try {
      const list = await this.api.get('/dashboards?limit=100&sorting=name');
      this.others = list.data.items;
      if (this.uid) {
        const { data, etag } = await this.api.get(`/dashboards/${encodeURIComponent(this.uid)}`);
        this.etag = etag;
        this.draft = {
          name: data.name,
          description: data.description,
          kind: data.kind,
          shared: data.shared,
          intervalSeconds: data.rotation?.intervalSeconds ?? 30,
          rotation: data.rotation?.dashboards ?? [],
        };
      } else {
        this.draft = { name: '', description: '', kind: this.kind, shared: false, intervalSeconds: 30, rotation: [] };
      }
    } catch (error) {
      this.error = errorMessage(error, 'this dashboard');
    }
  }

  set(field, value) {
    this.draft = { ...this.draft, [field]: value };
  }

  toggleRotation(uid, on) {
    const rotation = this.draft.rotation.filter((item) => item !== uid);
    if (on) rotation.push(uid);
    this.set('rotation', rotation);
  }

  body() {
    const d = this.draft;
    const body = { name: d.name, description: d.description, kind: d.kind, shared: d.shared };
    if (d.kind === 'wallboard' && d.rotation.length) {
      body.rotation = { intervalSeconds: Number(d.intervalSeconds), dashboards: d.rotation };
    } else if (this.uid) {
      body.rotation = null;
    }
    return body;
  }

  async save(event, { overwrite = false } = {}) {
    event?.preventDefault();
    if (this.busy) return;
    this.busy = true;
    this.error = null;
    try {
      const { data } = this.uid
        ? await this.api.patch(`/dashboards/${encodeURIComponent(this.uid)}`, this.body(), overwrite ? '*' : this.etag)
        : await this.api.post('/dashboards', this.body());
      this.dispatchEvent(new CustomEvent('wb-saved', { detail: data, bubbles: true }));
      document.dispatchEvent(new CustomEvent('wb-dashboard-changed', { detail: { uid: data.uid } }));
      this.close();
    } catch (error) {
      this.mismatch = isVersionMismatch(error);
      this.error = errorMessage(error, 'this dashboard');
    } finally {
      this.busy = false;
    }
  }

  async deleteDashboard() {
    this.busy = true;
    try {
      await this.api.delete(`/dashboards/${encodeURIComponent(this.uid)}`, this.etag);
      this.dispatchEvent(new CustomEvent('wb-deleted', { detail: this.uid, bubbles: true }));
      document.dispatchEvent(new CustomEvent('wb-dashboard-changed', { detail: { uid: this.uid, deleted: true } }));
      this.close();
    } catch (error) {
      this.mismatch = isVersionMismatch(error);
      this.error = errorMessage(error, 'this dashboard');
      this.confirmDelete = false;
    } finally {
      this.busy = false;
    }
  }

  renderForm() {
    const d = this.draft;
    const candidates = this.others;
    return html`<form class="editor-form" @submit=${(e) => this.save(e)}>
      <label class="field">
        <span>Name</span>
        <input name="name" required maxlength="200" .value=${d.name} @input=${(e) => this.set('name', e.target.value)} autofocus>
      </label>
      <label class="field">
        <span>Description</span>
        <input name="description" .value=${d.description} @input=${(e) => this.set('description', e.target.value)}>
      </label>
      <div class="field-row">
        <label class="field">
          <span>Kind</span>
          <select name="kind" @change=${(e) => this.set('kind', e.target.value)}>
            <option value="dashboard" ?selected=${d.kind === 'dashboard'}>Dashboard (editable grid)</option>
            <option value="wallboard" ?selected=${d.kind === 'wallboard'}>Wallboard (full screen)</option>
          </select>
        </label>
        ${auth.may(Privilege.MANAGE_SHARED_DASHBOARDS)
          ? html`<label class="check">
              <input type="checkbox" name="shared" .checked=${d.shared} @change=${(e) => this.set('shared', e.target.checked)}>
              <span>Shared with everyone of the tenant</span>
            </label>`
          : html`<span class="muted">${d.shared ? 'Shared with everyone of the tenant' : 'Private'}</span>`}
      </div>
      ${d.kind === 'wallboard'
        ? html`<fieldset class="rotation">
            <legend>Rotation</legend>
            <p class="muted">Shows these in turn, in the order ticked; none: this wallboard alone.</p>
            <label class="field inline">
              <span>Seconds each</span>
              <input name="intervalSeconds" type="number" min="5" max="86400" .value=${String(d.intervalSeconds)}
                @input=${(e) => this.set('intervalSeconds', e.target.value)}>
            </label>
            <ul class="check-list" aria-label="Rotate through">
              ${candidates.map(
                (item) => html`<li>
                  <label class="check">
                    <input type="checkbox" .checked=${d.rotation.includes(item.uid)}
                      @change=${(e) => this.toggleRotation(item.uid, e.target.checked)}>
                    <span>${item.name}${item.uid === this.uid ? ' (this one)' : ''}</span>
                    ${d.rotation.includes(item.uid) ? html`<span class="badge">${d.rotation.indexOf(item.uid) + 1}</span>` : ''}
                  </label>
                </li>`,
              )}
            </ul>
          </fieldset>`
        : ''}
      ${this.error ? html`<p class="form-error" role="alert">${this.error}</p>` : ''}
      <footer class="dialog-actions">
        ${this.uid
          ? this.confirmDelete
            ? html`<span class="confirm">Delete “${d.name}” and its widgets?
                <button type="button" class="danger" @click=${() => this.deleteDashboard()}>Yes, delete</button>
                <button type="button" @click=${() => (this.confirmDelete = false)}>No</button></span>`
            : html`<button type="button" class="danger" @click=${() => (this.confirmDelete = true)}>Delete…</button>`
          : ''}
        <span class="spacer"></span>
        ${this.mismatch
          ? html`<button type="button" @click=${() => this.load()}>Reload</button>
              <button type="button" @click=${(e) => this.save(e, { overwrite: true })}>Overwrite</button>`
          : ''}
        <button type="button" @click=${() => this.close()}>Cancel</button>
        <button type="submit" class="primary" ?disabled=${this.busy}>${this.uid ? 'Save' : 'Create'}</button>
      </footer>
    </form>`;
  }

  render() {
    const title = this.uid ? 'Dashboard settings' : this.kind === 'wallboard' ? 'New wallboard' : 'New dashboard';
    return this.renderDialog(
      title,
      this.draft ? this.renderForm() : this.error ? html`<p class="form-error" role="alert">${this.error}</p>` : html`<p class="muted">Loading…</p>`,
    );
  }
}

customElements.define('wb-dashboard-dialog', WbDashboardDialog);
