// Our components render into the light DOM: one stylesheet (app.css) themes them all, and
// gridstack's styles reach the grids they hold.
import { LitElement } from 'lit';

export class LightElement extends LitElement {
  createRenderRoot() {
    return this;
  }
}
