// Themes are CSS custom properties chosen by data-theme on <html> (app.css): the user's choice
// (remembered), else the system's; <meta name="color-scheme"> follows so form controls match.
const KEY = 'wallboard.theme';

export function storedTheme() {
  return localStorage.getItem(KEY) || 'auto';
}

export function effectiveTheme(choice = storedTheme()) {
  if (choice !== 'auto') return choice;
  return matchMedia('(prefers-color-scheme: dark)').matches ? 'dark' : 'light';
}

/** Applies `choice` (light, dark, auto) or, for a wallboard, a forced theme not remembered. */
export function applyTheme(choice = storedTheme(), { remember = false, forced = null } = {}) {
  if (remember) localStorage.setItem(KEY, choice);
  const theme = forced || effectiveTheme(choice);
  document.documentElement.dataset.theme = theme;
  const meta = document.querySelector('meta[name="color-scheme"]');
  if (meta) meta.content = theme === 'light' ? 'light' : 'dark';
  document.dispatchEvent(new CustomEvent('wb-theme', { detail: theme }));
  return theme;
}

matchMedia('(prefers-color-scheme: dark)').addEventListener('change', () => {
  if (!document.documentElement.dataset.forcedTheme) applyTheme();
});
