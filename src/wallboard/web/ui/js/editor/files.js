// Portable JSON as files: a download of what an export endpoint gave, and the JSON of a file the
// user picked (docs/api.md, "Export/import").

/** Offers `data` as a download named `name` (pretty JSON, so a person can read and diff it). */
export function downloadJson(name, data) {
  const blob = new Blob([`${JSON.stringify(data, null, 2)}\n`], { type: 'application/json' });
  const url = URL.createObjectURL(blob);
  const link = document.createElement('a');
  link.href = url;
  link.download = name;
  document.body.append(link);
  link.click();
  link.remove();
  // The click has started the download; the URL is no longer needed once it has been read.
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

/** The JSON in a picked file; an Error naming the file when it is not JSON. */
export async function readJsonFile(file) {
  const text = await file.text();
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new Error(`${file.name} is not a JSON file (${error.message})`);
  }
}

/** A file name for an export: "{uid}.{kind}.json". */
export function exportName(uid, kind) {
  return `${uid}.${kind}.json`;
}
