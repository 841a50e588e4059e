// One template to create or change: name, description, object types, how it is shown by
// default, and its statistics (a standard one by id, with alias, format and warning/critical
// thresholds; inline definitions are kept as they are). Saves with If-Match; a 412 offers
// reload or overwrite.
import { html } from 'lit';
import { auth, Privilege } from '../auth.js';
import { boot } from '../boot.js';
import { tenantApi } from '../api.js';
import { LightElement } from '../element.js';
import { errorMessage, isVersionMismatch } from '../editor/errors.js';
import { TYPE_LABELS } from '../editor/object-picker.js';
import { DISPLAY_TYPES, thresholdScale } from '../editor/widget-model.js';
import { href, navigate } from '../router.js';
import '../editor/transfer.js';

const FORMATS = ['time', 'integer', 'number', 'percent', 'string', 'status'];
const OBJECT_TYPES = Object.keys(TYPE_LABELS);

function blank() {
  return { uid: '', name: '', description: '', objectTypes: ['queue'], defaultDisplayType: 'grid', statistics: [] };
}

class WbTemplatePage extends LightElement {
  static properties = {
    tenant: {},
    uid: {}, // 'new' for a new one
    draft: { state: true },
    error: { state: true },
    saved: { state: true },
    mismatch: { state: true },
    busy: { state: true },
  };

  constructor() {
    super();
    this.draft = null;
    this.error = null;
    this.saved = null;
    this.mismatch = false;
    this.busy = false;
    this.etag = null;
  }

  get isNew() {
    return this.uid === 'new';
  }

  updated(changed) {
    if (changed.has('tenant') || changed.has('uid')) this.load();
  }

  async load() {
    this.error = null;
    this.mismatch = false;
    if (this.isNew) {
      this.draft = blank();
      return;
    }
    try {
      const { data, etag } = await tenantApi(this.tenant).get(`/templates/${encodeURIComponent(this.uid)}`);
      this.etag = etag;
      this.draft = {
        name: data.name,
        description: data.description,
        objectTypes: data.objectTypes,
        defaultDisplayType: data.defaultDisplayType,
        statistics: data.statistics,
        version: data.version,
      };
    } catch (error) {
      this.error = errorMessage(error, 'this template');
      this.draft = this.draft ?? null;
    }
  }

  set(changes) {
    this.draft = { ...this.draft, ...changes };
    this.saved = null;
  }

  setStatistic(index, changes) {
    const statistics = this.draft.statistics.map((s, i) => {
      if (i !== index) return s;
      const next = { ...s, ...changes };
      for (const key of Object.keys(next)) if (next[key] === null || next[key] === '') delete next[key];
      if (!next.alias) next.alias = '';
      return next;
    });
    this.set({ statistics });
  }

  setThreshold(index, field, raw, factor) {
    const current = { ...(this.draft.statistics[index].thresholds || {}) };
    if (field === 'direction') current.direction = raw;
    else if (raw === '') delete current[field];
    else current[field] = Number(raw) * factor;
    const empty = current.warning === undefined && current.critical === undefined;
    this.setStatistic(index, { thresholds: empty ? null : { direction: 'above', ...current } });
  }

  move(index, offset) {
    const statistics = [...this.draft.statistics];
    const [item] = statistics.splice(index, 1);
    statistics.splice(index + offset, 0, item);
    this.set({ statistics });
  }

  body() {
    const { uid, version, ...fields } = this.draft;
    if (this.isNew && uid.trim()) fields.uid = uid.trim();
    return fields;
  }

  async save(event, { overwrite = false } = {}) {
    event?.preventDefault();
    if (this.busy) return;
    this.busy = true;
    this.error = null;
    this.saved = null;
    const api = tenantApi(this.tenant);
    try {
      if (this.isNew) {
        const { data } = await api.post('/templates', this.body());
        navigate(`/templates/${data.uid}`);
        return;
      }
      const { data, etag } = await api.patch(`/templates/${encodeURIComponent(this.uid)}`, this.body(), overwrite ? '*' : this.etag);
      this.etag = etag;
      this.draft = { ...this.draft, version: data.version };
      this.mismatch = false;
      this.saved = `Saved (version ${data.version}).`;
    } catch (error) {
      this.mismatch = isVersionMismatch(error);
      this.error = errorMessage(error, 'this template');
    } finally {
      this.busy = false;
    }
  }

  renderStatistic(s, index) {
    const id = s.ref ?? s.definition?.id;
    const format = s.format || boot.statistics?.[s.ref]?.format || s.definition?.format || 'number';
    const { factor, unit } = thresholdScale(format);
    const shown = (v) => (v === undefined || v === null ? '' : String(v / factor));
    const count = this.draft.statistics.length;
    return html`<tr class="statistic-row">
      <td>${s.definition
        ? html`<span title="An inline definition of the engine's model">${id} <span class="badge">inline</span></span>`
        : html`<input aria-label="Statistic ${index + 1}" list="standard-statistics" required .value=${s.ref ?? ''}
            @input=${(e) => this.setStatistic(index, { ref: e.target.value.trim() })}>`}</td>
      <td><input aria-label="Alias of ${id || `statistic ${index + 1}`}" .value=${s.alias || ''} @input=${(e) => this.setStatistic(index, { alias: e.target.value })}></td>
      <td><select aria-label="Format of ${id || `statistic ${index + 1}`}" @change=${(e) => this.setStatistic(index, { format: e.target.value || null })}>
        <option value="" ?selected=${!s.format}>its own (${boot.statistics?.[s.ref]?.format || s.definition?.format || '…'})</option>
        ${FORMATS.map((f) => html`<option value=${f} ?selected=${s.format === f}>${f}</option>`)}
      </select></td>
      <td><input type="number" step="any" aria-label="Warning of ${id}" .value=${shown(s.thresholds?.warning)}
        @input=${(e) => this.setThreshold(index, 'warning', e.target.value, factor)}>${unit ? html`<span class="unit">${unit}</span>` : ''}</td>
      <td><input type="number" step="any" aria-label="Critical of ${id}" .value=${shown(s.thresholds?.critical)}
        @input=${(e) => this.setThreshold(index, 'critical', e.target.value, factor)}>${unit ? html`<span class="unit">${unit}</span>` : ''}</td>
      <td><select aria-label="Direction of ${id}" @change=${(e) => this.setThreshold(index, 'direction', e.target.value, factor)}>
        ${['above', 'below'].map((d) => html`<option value=${d} ?selected=${(s.thresholds?.direction || 'above') === d}>${d === 'above' ? 'higher' : 'lower'}</option>`)}
      </select></td>
      <td class="row-actions">
        <button type="button" class="icon-button" aria-label="Move ${id} up" ?disabled=${index === 0} @click=${() => this.move(index, -1)}>↑</button>
        <button type="button" class="icon-button" aria-label="Move ${id} down" ?disabled=${index === count - 1} @click=${() => this.move(index, 1)}>↓</button>
        <button type="button" class="icon-button" aria-label="Remove ${id}"
          @click=${() => this.set({ statistics: this.draft.statistics.filter((_, i) => i !== index) })}>✕</button>
      </td>
    </tr>`;
  }

  render() {
    if (!this.draft) {
      return this.error ? html`<div class="empty" role="alert">${this.error} <a href=${href('/templates')}>All templates</a></div>` : html`<div class="empty">Loading…</div>`;
    }
    const d = this.draft;
    // Without manage-templates the template is shown, not offered for change.
    const readOnly = !auth.may(Privilege.MANAGE_TEMPLATES);
    return html`
      <div class="page-head">
        <a href=${href('/templates')}>Templates</a> <span class="muted">/</span>
        <h1>${this.isNew ? 'New template' : d.name || this.uid}</h1>
        ${readOnly ? html`<span class="badge">read-only</span>` : ''}
      </div>
      <form class="editor-form template-form" @submit=${this.save}>
        <fieldset class="bare" ?disabled=${readOnly}>
        <div class="field-row">
          ${this.isNew
            ? html`<label class="field"><span>Id (optional)</span>
                <input name="uid" pattern="[A-Za-z0-9][A-Za-z0-9._\\-]*" .value=${d.uid} @input=${(e) => this.set({ uid: e.target.value })}></label>`
            : ''}
          <label class="field grow"><span>Name</span>
            <input name="name" required maxlength="200" .value=${d.name} @input=${(e) => this.set({ name: e.target.value })}></label>
          <label class="field"><span>Shown as by default</span>
            <select name="defaultDisplayType" @change=${(e) => this.set({ defaultDisplayType: e.target.value })}>
              ${Object.entries(DISPLAY_TYPES).map(([t, info]) => html`<option value=${t} ?selected=${d.defaultDisplayType === t}>${info.label}</option>`)}
            </select></label>
        </div>
        <label class="field"><span>Description</span>
          <input name="description" .value=${d.description} @input=${(e) => this.set({ description: e.target.value })}></label>
        <fieldset>
          <legend>Objects it shows</legend>
          <div class="check-row">
            ${OBJECT_TYPES.map(
              (t) => html`<label class="check"><input type="checkbox" .checked=${d.objectTypes.includes(t)}
                @change=${(e) => this.set({ objectTypes: e.target.checked ? [...d.objectTypes, t] : d.objectTypes.filter((x) => x !== t) })}>
                <span>${TYPE_LABELS[t]}</span></label>`,
            )}
          </div>
        </fieldset>
        <fieldset>
          <legend>Statistics</legend>
          <datalist id="standard-statistics">
            ${Object.entries(boot.statistics || {}).map(([id, s]) => html`<option value=${id}>${s.description}</option>`)}
          </datalist>
          <table class="editor-table statistics-table">
            <thead><tr><th scope="col">Statistic</th><th scope="col">Alias</th><th scope="col">Format</th>
              <th scope="col">Warning</th><th scope="col">Critical</th><th scope="col">Worse when</th><th scope="col"><span class="visually-hidden">Order</span></th></tr></thead>
            <tbody>${d.statistics.map((s, i) => this.renderStatistic(s, i))}</tbody>
          </table>
          <button type="button" @click=${() => this.set({ statistics: [...d.statistics, { ref: '', alias: '' }] })}>Add statistic</button>
          <p class="muted small">Time thresholds are in seconds. A statistic must measure one of the object types ticked above.</p>
        </fieldset>
        </fieldset>
        ${this.error ? html`<p class="form-error" role="alert">${this.error}</p>` : ''}
        ${this.saved ? html`<p class="form-ok" role="status">${this.saved}</p>` : ''}
        <footer class="dialog-actions">
          ${this.mismatch
            ? html`<button type="button" @click=${() => this.load()}>Reload</button>
                <button type="button" @click=${(e) => this.save(e, { overwrite: true })}>Overwrite</button>`
            : ''}
          <span class="spacer"></span>
          <a class="button" href=${href('/templates')}>Back to templates</a>
          ${readOnly
            ? ''
            : html`<button type="submit" class="primary" ?disabled=${this.busy}>${this.isNew ? 'Create template' : 'Save template'}</button>`}
        </footer>
      </form>
    `;
  }
}

customElements.define('wb-template-page', WbTemplatePage);
