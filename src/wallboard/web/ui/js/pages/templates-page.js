// The tenant's widget templates: list, create, edit (a link to the editor), export, import and
// delete (refused with a message while widgets use one).
import { html } from 'lit';
import { tenantApi } from '../api.js';
import { auth, Privilege } from '../auth.js';
import { LightElement } from '../element.js';
import { errorMessage } from '../editor/errors.js';
import { TYPE_LABELS } from '../editor/object-picker.js';
import { exportToFile } from '../editor/transfer.js';
import { DISPLAY_TYPES } from '../editor/widget-model.js';
import { href } from '../router.js';

class WbTemplatesPage extends LightElement {
  static properties = {
    tenant: {},
    items: { state: true },
    error: { state: true },
    notice: { state: true },
    deleting: { state: true },
  };

  constructor() {
    super();
    this.items = null;
    this.error = null;
    this.notice = null;
    this.deleting = null;
  }

  updated(changed) {
    if (changed.has('tenant')) {
      this.items = null;
      this.load();
    }
  }

  async load() {
    this.error = null;
    try {
      const items = [];
      for (let page = 1; page <= 20; page += 1) {
        const { data } = await tenantApi(this.tenant).get(`/templates?limit=100&page=${page}&sorting=name`);
        items.push(...data.items);
        if (page >= data.pagination.maxPage) break;
      }
      this.items = items;
    } catch (error) {
      this.error = errorMessage(error, 'the templates');
    }
  }

  async exportItem(item) {
    this.notice = null;
    try {
      await exportToFile(this.tenant, 'template', item.uid);
    } catch (error) {
      this.notice = errorMessage(error, `“${item.name}”`);
    }
  }

  async deleteTemplate(item) {
    this.notice = null;
    try {
      await tenantApi(this.tenant).delete(`/templates/${encodeURIComponent(item.uid)}`);
      this.deleting = null;
      await this.load();
    } catch (error) {
      this.deleting = null;
      this.notice = error.code === 'conflict' ? `“${item.name}” is not deleted: ${error.message}.` : errorMessage(error, `“${item.name}”`);
    }
  }

  render() {
    if (this.error) return html`<div class="empty" role="alert">Could not load the templates: ${this.error}</div>`;
    if (this.items === null) return html`<div class="empty">Loading…</div>`;
    return html`
      <div class="page-head">
        <h1>Templates</h1>
        ${auth.may(Privilege.MANAGE_TEMPLATES)
          ? html`<div class="actions">
              <wb-import-button .tenant=${this.tenant} @wb-imported=${() => this.load()}></wb-import-button>
              <a class="button primary" href=${href('/templates/new')}>New template</a>
            </div>`
          : ''}
      </div>
      ${this.notice ? html`<p class="form-error" role="alert">${this.notice}</p>` : ''}
      <table class="editor-table templates-table" aria-label="Templates">
        <thead><tr><th scope="col">Name</th><th scope="col">Objects</th><th scope="col">Statistics</th><th scope="col">Shown as</th><th scope="col"><span class="visually-hidden">Actions</span></th></tr></thead>
        <tbody>
          ${this.items.map(
            (item) => html`<tr data-uid=${item.uid}>
              <th scope="row">
                <a href=${href(`/templates/${encodeURIComponent(item.uid)}`)}>${item.name}</a>
                ${item.seedVersion !== null && item.seedVersion !== undefined
                  ? html` <span class="badge">${item.edited ? 'edited' : 'standard'}</span>`
                  : ''}
                <div class="muted small">${item.description}</div>
              </th>
              <td>${item.objectTypes.map((t) => TYPE_LABELS[t] || t).join(', ')}</td>
              <td>${item.statistics.length}</td>
              <td>${DISPLAY_TYPES[item.defaultDisplayType]?.label || item.defaultDisplayType}</td>
              <td class="row-actions">
                <button type="button" @click=${() => this.exportItem(item)} aria-label="Export ${item.name}">Export</button>
                ${!auth.may(Privilege.MANAGE_TEMPLATES) ? '' : this.deleting === item.uid
                  ? html`<span class="confirm">Delete?
                      <button type="button" class="danger" @click=${() => this.deleteTemplate(item)}>Yes, delete</button>
                      <button type="button" @click=${() => (this.deleting = null)}>No</button></span>`
                  : html`<button type="button" class="danger" @click=${() => (this.deleting = item.uid)} aria-label="Delete ${item.name}">Delete</button>`}
              </td>
            </tr>`,
          )}
        </tbody>
      </table>
    `;
  }
}

customElements.define('wb-templates-page', WbTemplatesPage);
