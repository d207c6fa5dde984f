// The one rule for names that become host names, topic levels and directory names: a DNS label
// (RFC 1123): lower-case letters, digits and '-', 1 to 63 characters, starting and ending with a
// letter or digit. Node names, service and other object names follow it; so they never hold '/',
// '+', '#', '$' or '..', which would change what a topic, an ACL or a path means.

export const DNS_LABEL = /^(?=.{1,63}$)[a-z0-9](?:[-a-z0-9]*[a-z0-9])?$/;

export function isDnsLabel(value: string): boolean {
  return DNS_LABEL.test(value);
}

/** Why a string is not a DNS label, or undefined when it is one. */
export function dnsLabelProblem(value: string): string | undefined {
  if (DNS_LABEL.test(value)) return undefined;
  if (value === "") return "must not be empty";
  if (value.length > 63) return `must be at most 63 characters (a DNS label), got ${value.length}`;
  return (
    `must be a DNS label: lower-case letters, digits and '-', starting and ending with a letter ` +
    `or digit, e.g. "my-service"; got ${JSON.stringify(value)}`
  );
}
