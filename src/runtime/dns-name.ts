// The two rules (RFC 1123, as Kubernetes applies them) for names that become host names, topic
// levels and directory names:
// - a DNS label: lower-case letters, digits and '-', 1 to 63 characters, starting and ending with a
//   letter or digit. Object names (Services, Configs...) follow it.
// - a DNS subdomain: DNS labels joined by '.', at most 253 characters in all, e.g. `cloud.kubeedge`.
//   Node names follow it, and so do service names as nodes see them (`<name>.<namespace>` outside
//   the default namespace).
// Neither ever holds '/', '+', '#', '$', '..' or a leading '.', which would change what a topic, an
// ACL or a path means: a subdomain is always a single file name other than "." and "..".

export const DNS_LABEL = /^(?=.{1,63}$)[a-z0-9](?:[-a-z0-9]*[a-z0-9])?$/;

const LABEL = "[a-z0-9](?:[-a-z0-9]{0,61}[a-z0-9])?";
export const DNS_SUBDOMAIN = new RegExp(`^(?=.{1,253}$)${LABEL}(?:\\.${LABEL})*$`);

export function isDnsLabel(value: string): boolean {
  return DNS_LABEL.test(value);
}

export function isDnsSubdomain(value: string): boolean {
  return DNS_SUBDOMAIN.test(value);
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

/** Why a string is not a DNS subdomain, or undefined when it is one. */
export function dnsSubdomainProblem(value: string): string | undefined {
  if (DNS_SUBDOMAIN.test(value)) return undefined;
  if (value === "") return "must not be empty";
  if (value.length > 253) return `must be at most 253 characters (a DNS subdomain), got ${value.length}`;
  const long = value.split(".").find((label) => label.length > 63);
  if (long !== undefined) {
    return `each '.'-separated part must be at most 63 characters, got ${long.length} in ${JSON.stringify(value)}`;
  }
  return (
    `must be a DNS subdomain: lower-case letters, digits, '-' and '.', each '.'-separated part ` +
    `starting and ending with a letter or digit, e.g. "edge-1" or "cloud.kubeedge"; got ${JSON.stringify(value)}`
  );
}
