// Export and import of templates and dashboards as JSON files through the API's export and
// import endpoints (docs/api.md): the same document goes out and comes back in.
import { html } from 'lit';
import { tenantApi } from '../api.js';
import { LightElement } from '../element.js';
import { errorMessage } from './errors.js';
import { downloadJson, exportName, readJsonFile } from './files.js';

const PATHS = { dashboard: '/dashboards', template: '/templates' };

/** Downloads the export of a dashboard or template ("{uid}.{kind}.json"). */
export async function exportToFile(tenant, kind, uid) {
  const { data } = await tenantApi(tenant).get(`${PATHS[kind]}/${encodeURIComponent(uid)}/export`);
  downloadJson(exportName(uid, kind), data);
  return data;
}

/** Imports an exported document (its `kind` says where); resolves to {kind, item}. */
export async function importDocument(tenant, document_, { overwrite = false } = {}) {
  const kind = document_?.kind;
  if (!PATHS[kind]) throw new Error('Not an export of Wallboard: a dashboard or template export has "kind" dashboard or template.');
  const { data } = await tenantApi(tenant).post(`${PATHS[kind]}/import${overwrite ? '?overwrite=true' : ''}`, document_);
  return { kind, item: data };
}

/**
 * An "Import…" button: picks a JSON file, imports it, and on 409 (the uid exists) offers to
 * replace it. Fires 'wb-imported' ({detail: {kind, item}}).
 */
class WbImportButton extends LightElement {
  static properties = {
    tenant: {},
    label: {},
    pending: { state: true },
    message: { state: true },
    failed: { state: true },
  };

  constructor() {
    super();
    this.label = 'Import…';
    this.pending = null;
    this.message = null;
    this.failed = false;
  }

  async picked(event) {
    const [file] = event.target.files;
    event.target.value = '';
    if (!file) return;
    this.message = null;
    try {
      await this.import(await readJsonFile(file), false);
    } catch (error) {
      this.report(error);
    }
  }

  async import(doc, overwrite) {
    try {
      const result = await importDocument(this.tenant, doc, { overwrite });
      this.pending = null;
      this.failed = false;
      this.message = `Imported ${result.kind} “${result.item.name}”.`;
      this.dispatchEvent(new CustomEvent('wb-imported', { detail: result, bubbles: true }));
    } catch (error) {
      if (error.code === 'conflict' && !overwrite) {
        this.pending = doc;
        this.failed = true;
        this.message = `${error.message}.`;
        return;
      }
      throw error;
    }
  }

  report(error) {
    this.pending = null;
    this.failed = true;
    this.message = errorMessage(error, 'it');
  }

  render() {
    return html`<span class="import">
      <label class="button">
        ${this.label}
        <input type="file" accept="application/json,.json" class="visually-hidden" @change=${this.picked}>
      </label>
      ${this.message
        ? html`<span class=${this.failed ? 'form-error' : 'form-ok'} role=${this.failed ? 'alert' : 'status'}>
            ${this.message}
            ${this.pending
              ? html`<button type="button" @click=${() => this.import(this.pending, true).catch((e) => this.report(e))}>Replace it</button>
                  <button type="button" @click=${() => { this.pending = null; this.message = null; }}>Keep it</button>`
              : ''}
          </span>`
        : ''}
    </span>`;
  }
}

customElements.define('wb-import-button', WbImportButton);
