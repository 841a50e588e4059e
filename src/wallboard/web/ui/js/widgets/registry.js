// Display type → how the card renders it. A new display type: write its element, add it here.
import { html } from 'lit';
import './alert-list.js';
import './chart.js';
import './kpi.js';
import './static.js';
import './table.js';

const displays = {
  kpi: (p) => html`<wb-kpi .widget=${p.widget} .template=${p.template} .view=${p.view} .history=${p.history} .now=${p.now}></wb-kpi>`,
  grid: (p) => html`<wb-table .widget=${p.widget} .template=${p.template} .view=${p.view} .now=${p.now}></wb-table>`,
  list: (p) => html`<wb-table compact .widget=${p.widget} .template=${p.template} .view=${p.view} .now=${p.now}></wb-table>`,
  donut: (p) => html`<wb-chart kind="donut" .widget=${p.widget} .template=${p.template} .view=${p.view} .now=${p.now}></wb-chart>`,
  bar: (p) => html`<wb-chart kind="bar" .widget=${p.widget} .template=${p.template} .view=${p.view} .now=${p.now}></wb-chart>`,
  line: (p) => html`<wb-chart kind="line" .widget=${p.widget} .template=${p.template} .view=${p.view} .history=${p.history} .now=${p.now}></wb-chart>`,
  alert_list: (p) => html`<wb-alert-list .widget=${p.widget} .template=${p.template} .view=${p.view} .now=${p.now}></wb-alert-list>`,
  static_text: (p) => html`<wb-static-text .widget=${p.widget}></wb-static-text>`,
  iframe: (p) => html`<wb-iframe .widget=${p.widget}></wb-iframe>`,
};

/** Display types that show no statistic: no template, no live subscription. */
export const DATA_FREE = new Set(['static_text', 'iframe']);

/** The display of `widget` with its data; an error card for a type this UI does not know. */
export function renderDisplay(props) {
  const display = displays[props.widget.displayType];
  if (!display) return html`<div class="widget-error" role="alert">Unknown display type “${props.widget.displayType}”</div>`;
  if (props.template?.error) {
    return html`<div class="widget-error" role="alert">Template “${props.widget.templateUid}” not available: ${props.template.error}</div>`;
  }
  return display(props);
}
