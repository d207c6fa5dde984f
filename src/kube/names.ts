// How dayu-sedna names what it creates for a JointMultiEdgeService, which Dayu's code matches (it
// finds pods by substring and by regexes like `^processor-(?P<service>.+)-(?P<node>[^-]+)-
// (?:edgeworker|cloudworker)(?:-|$)`): a Deployment `<cr>-<edgeworker|cloudworker>-<5 chars>` per
// worker pod, its pod `<deployment>-<pod template hash>-<5 chars>`, a NodePort Service
// `<cr>-<pos>`, the labels `jointmultiedge.sedna.io/name` and `kubernetes.io/hostname`. Where
// Kubernetes picks random characters (from the same alphabet), levee derives them from stable
// facts, so a name stays the same across restarts of the cloud and on every node; uids likewise.
// Pure.
import { createHash } from "node:crypto";

/** apimachinery's rand.String alphabet: no vowels (no words), no look-alikes. */
const ALPHABET = "bcdfghjklmnpqrstvwxz2456789";

export const SEDNA_NAME_LABEL = "jointmultiedge.sedna.io/name";
export const SEDNA_UID_LABEL = "jointmultiedge.sedna.io/uid";
export const SEDNA_WORKER_TYPE_LABEL = "jointmultiedge.sedna.io/worker-type";
export const HOSTNAME_LABEL = "kubernetes.io/hostname";
export const TEMPLATE_HASH_LABEL = "pod-template-hash";

/** `length` characters of the alphabet, derived from `parts`. */
export function stableSuffix(length: number, ...parts: (string | number)[]): string {
  const digest = createHash("sha256").update(parts.join("\u0000")).digest();
  let out = "";
  for (let i = 0; i < length; i++) out += ALPHABET[(digest[i] ?? 0) % ALPHABET.length];
  return out;
}

/** A uid (RFC 4122 form) derived from `parts`: the same object always has the same uid. */
export function stableUid(...parts: (string | number)[]): string {
  const h = createHash("sha256").update(parts.join("\u0000")).digest("hex");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/** `<cr>-edgeworker-<5>`: one per worker pod of the object (`podKey`: edge0, edge1, cloud). */
export function deploymentName(cr: string, role: string, crUid: string, podKey: string): string {
  return `${cr}-${role}-${stableSuffix(5, crUid, podKey)}`;
}

/** The pod template hash: changes when the object's spec does (a new ReplicaSet in Kubernetes). */
export function templateHash(deployment: string, generation: number): string {
  return stableSuffix(10, deployment, generation);
}

/** `<deployment>-<template hash>-<5>`. */
export function podName(deployment: string, hash: string): string {
  return `${deployment}-${hash}-${stableSuffix(5, deployment, hash)}`;
}

/** dayu-sedna's NodePort Service: `lower(<cr>-<pos>)`. */
export function serviceName(cr: string, pos: string): string {
  return `${cr}-${pos}`.toLowerCase();
}
