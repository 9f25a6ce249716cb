/**
 * The files a pod's containers share: /etc/resolv.conf from the pod's DNSConfig (or the
 * node's), /etc/hosts with the pod's hostname and IPs, /etc/hostname. Kubelet mounts its
 * own /etc/hosts for most pods; these are what a pod gets otherwise (and what crictl
 * users see).
 */
import type { DNSConfig__Output } from "../../generated/runtime/v1/DNSConfig.js";
import { invalidArgument } from "../../core/errors.js";

/** resolv.conf(5) from the pod's DNS config; undefined: use the node's file. */
export function resolvConf(dns: DNSConfig__Output | null): string | undefined {
  if (!dns || (dns.servers.length === 0 && dns.searches.length === 0 && dns.options.length === 0)) {
    return undefined;
  }
  const lines: string[] = [];
  for (const s of dns.searches) checkToken(s, "dns_config.searches");
  for (const s of dns.servers) checkToken(s, "dns_config.servers");
  for (const o of dns.options) checkToken(o, "dns_config.options");
  if (dns.searches.length > 0) lines.push(`search ${dns.searches.join(" ")}`);
  for (const server of dns.servers) lines.push(`nameserver ${server}`);
  if (dns.options.length > 0) lines.push(`options ${dns.options.join(" ")}`);
  return `${lines.join("\n")}\n`;
}

/** No whitespace, no newline: a value cannot smuggle in another resolv.conf line. */
function checkToken(value: string, field: string): void {
  if (value === "" || /\s/.test(value)) {
    throw invalidArgument(`${field}: ${JSON.stringify(value)} must be one word`);
  }
}

export function hostsFile(hostname: string, ips: string[]): string {
  const lines = [
    "127.0.0.1\tlocalhost",
    "::1\tlocalhost ip6-localhost ip6-loopback",
    "fe00::0\tip6-localnet",
    "fe00::0\tip6-mcastprefix",
    "fe00::1\tip6-allnodes",
    "fe00::2\tip6-allrouters",
  ];
  for (const ip of ips) lines.push(`${ip}\t${hostname}`);
  return `${lines.join("\n")}\n`;
}

const hostnamePattern =
  /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?(\.[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)*$/i;

export function checkHostname(hostname: string): void {
  if (hostname.length > 64 || !hostnamePattern.test(hostname)) {
    throw invalidArgument(
      `hostname ${JSON.stringify(hostname)} is not a valid host name (RFC 1123, at most 64 characters)`,
    );
  }
}
