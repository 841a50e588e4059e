// The editing routes (docs/ui.md, "Routes"), registered ahead of the foundation's.
import { addRoute } from '../router.js';

addRoute('templates', /^\/templates$/, []);
addRoute('template', /^\/templates\/([^/]+)$/, ['template']);
addRoute('widget-add', /^\/dashboards\/([^/]+)\/add-widget$/, ['dashboard']);
addRoute('widget-edit', /^\/dashboards\/([^/]+)\/widgets\/([^/]+)\/edit$/, ['dashboard', 'widget']);
