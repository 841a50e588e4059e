// Grid (a sortable table with a sticky header) and list (the same rows, compact). A header
// click or Enter on it sorts by that column; again reverses.
import { html } from 'lit';
import { repeat } from 'lit/directives/repeat.js';
import { LightElement } from '../element.js';
import { formatValue, thresholdLevel } from '../format.js';
import { columnsOf, compareValues, objectRows, sortOf } from './model.js';

class WbTable extends LightElement {
  static properties = { widget: {}, template: {}, view: {}, now: {}, compact: { type: Boolean }, sort: { state: true } };

  constructor() {
    super();
    this.sort = null;
  }

  sortBy(id) {
    const current = this.sort || this.defaultSort;
    this.sort = { by: id, descending: current?.by === id ? !current.descending : false };
  }

  render() {
    const columns = columnsOf(this.widget, this.template);
    this.defaultSort = sortOf(this.widget, columns);
    const sort = this.sort || this.defaultSort;
    const rows = objectRows(this.view, columns);
    if (sort) {
      rows.sort((a, b) => {
        const order = compareValues(a.values[sort.by], b.values[sort.by], this.now);
        return sort.descending ? -order : order;
      });
    }
    if (rows.length === 0) return html`<div class="widget-empty">No values yet</div>`;
    const ariaSort = (id) => (sort?.by === id ? (sort.descending ? 'descending' : 'ascending') : 'none');
    return html`<div class="table-scroll">
      <table class="data-table ${this.compact ? 'compact' : ''}">
        <thead>
          <tr>
            <th scope="col">Object</th>
            ${columns.map(
              (c) => html`<th scope="col" aria-sort=${ariaSort(c.id)} class="sortable ${c.format}">
                <button type="button" class="th-button" @click=${() => this.sortBy(c.id)}>${c.label}<span class="sort-mark"
                    >${sort?.by === c.id ? (sort.descending ? '▼' : '▲') : ''}</span></button>
              </th>`,
            )}
          </tr>
        </thead>
        <tbody>
          ${repeat(
            rows,
            (row) => `${row.type}/${row.id}`,
            (row) => html`<tr data-object=${row.id}>
              <th scope="row">${row.id}</th>
              ${columns.map((c) => {
                const value = row.values[c.id];
                const level = thresholdLevel(value, c.thresholds, this.now);
                return html`<td class="${c.format} level-${level || 'none'}" data-statistic=${c.id} data-level=${level || 'none'}>
                  ${formatValue(value, c.format, this.now)}
                </td>`;
              })}
            </tr>`,
          )}
        </tbody>
      </table>
    </div>`;
  }
}
customElements.define('wb-table', WbTable);
