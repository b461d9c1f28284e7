import type { KeyObject } from "node:crypto";

export const PLUGIN_NAME: string;
export const SUMS_FILE: string;
export const SIGNATURE_FILE: string;
export const OCI_DIR: string;
export const KEY_FILE_ENV: string;
export const KEY_ENV: string;
export interface ArtefactNames {
  executable: string;
  zip: string;
  sbom: string;
  notices: string;
}
export function artefactNames(version: string): ArtefactNames;
export function uncleanFiles(root: string): string[];
export function sourceDateEpoch(root: string, env?: Record<string, string | undefined>): number;
export function sha256File(file: string): Promise<string>;
export function loadSigningKey(env?: Record<string, string | undefined>): KeyObject | undefined;
export function keyFingerprint(key: KeyObject): string;
export function listFiles(dir: string): string[];
export interface BuildManifest {
  name: string;
  version: string;
  commit: string;
  sha256: string;
  node: { version: string; distribution: string; license: string; sha256: string };
  packages: { key: string; name: string; version: string; license: string; integrity: string }[];
}
export interface Release {
  manifest: BuildManifest;
  names: ArtefactNames;
  executableSha256: string;
  image: { manifestDigest: string; layerDigest: string; tag: string } | undefined;
  signed: boolean;
  files: string[];
}
export function writeRelease(options: { distDir: string; outDir: string; epoch: number; signingKey: KeyObject | undefined; oci?: boolean }): Promise<Release>;
export function verifyRelease(dir: string, publicKeyPem: string | Buffer): Promise<string[]>;
