// Hash routes, so every view is a link that works on a kiosk screen without server routes:
//   #/                       dashboards list
//   #/dashboards/{uid}       a dashboard (grid, editable)
//   #/wallboards/{uid}       a wallboard (full screen; ?rotate=0 stops rotation)
//   #/dashboards/{d}/widgets/{w}   one widget expanded to the whole tab
//   #/login?next={route}     the login page (shown whenever the API answers 401)
const routes = [
  { name: 'widget', pattern: /^\/dashboards\/([^/]+)\/widgets\/([^/]+)$/, keys: ['dashboard', 'widget'] },
  { name: 'dashboard', pattern: /^\/dashboards\/([^/]+)$/, keys: ['dashboard'] },
  { name: 'wallboard', pattern: /^\/wallboards\/([^/]+)$/, keys: ['dashboard'] },
  { name: 'login', pattern: /^\/login$/, keys: [] },
  { name: 'admin', pattern: /^\/admin$/, keys: [] },
  { name: 'dashboards', pattern: /^\/?$/, keys: [] },
];

/** Registers a route for a page added later (docs/ui.md): most specific first. */
export function addRoute(name, pattern, keys) {
  routes.unshift({ name, pattern, keys });
}

/** The current route: {name, params, query}; name 'not-found' when nothing matches. */
export function currentRoute() {
  const hash = decodeURI(location.hash.replace(/^#/, '')) || '/';
  const [path, search = ''] = hash.split('?');
  const query = Object.fromEntries(new URLSearchParams(search));
  for (const route of routes) {
    const match = route.pattern.exec(path);
    if (match) {
      const params = Object.fromEntries(route.keys.map((key, i) => [key, decodeURIComponent(match[i + 1])]));
      return { name: route.name, params, query, path };
    }
  }
  return { name: 'not-found', params: {}, query, path };
}

export function href(path, query) {
  const search = query ? `?${new URLSearchParams(query)}` : '';
  return `#${path}${search}`;
}

export function navigate(path, query) {
  location.hash = href(path, query);
}
