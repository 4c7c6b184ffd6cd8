/** `value` as one single-quoted POSIX shell word: nothing in it is expanded. */
export function shellQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

/** An absolute URL for a path the API gave (webhook URLs are relative to this origin). */
export function absoluteUrl(url: string): string {
  return url.startsWith("http") ? url : `${window.location.origin}${url}`;
}
