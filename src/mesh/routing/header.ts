// The X-Levee-Error header that names why levee refused a request, and a guard for its value.

/** The header naming why levee refused (HTTP). */
export const ERROR_HEADER = "X-Levee-Error";

/** A header value that cannot split a header or a response: printable ASCII only, at most 512 bytes. */
export function headerValue(text: string): string {
  return text.replace(/[^\x20-\x7e]/g, "?").slice(0, 512);
}
