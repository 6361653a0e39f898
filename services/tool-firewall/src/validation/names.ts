// Argument names that carry risk (the reference's §4.4): a credential, a command, a URL, a body,
// a path. An adapter may declare such an argument (filesystem.write declares `content`); an
// undeclared one is refused with the reason, so a model that invents `cmd` or `api_key` is told
// why. Pure.

/** Lower-case; runs of non-alphanumerics become `_`; trimmed of `_`. */
export function normalizeName(name: string): string {
  return name
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '_')
    .replace(/^_+|_+$/g, '');
}

const CREDENTIAL_PARTS = [
  'password',
  'passwd',
  'passphrase',
  'secret',
  'token',
  'credential',
  'authorization',
  'apikey',
  'privatekey',
  'sshkey',
  'signingkey',
  'accesskey',
  'sessionkey',
  'clientkey',
  'encryptionkey',
  'decryptionkey',
  'keymaterial',
  'bearer',
  'cookie',
];

const RISKY_PARTS = new Set([
  'cmd',
  'command',
  'shell',
  'exec',
  'executable',
  'script',
  'code',
  'program',
  'url',
  'uri',
  'endpoint',
  'host',
  'headers',
  'authorization',
  'env',
  'environment',
  'cwd',
  'body',
  'payload',
  'content',
  'template',
]);

const RISKY_WHOLE = new Set([
  'working_directory',
  'shellcommand',
  'execargs',
  'requesturl',
  'httpheaders',
]);

const PATH_NAMES = new Set([
  'path',
  'file',
  'filepath',
  'file_path',
  'filename',
  'directory',
  'dir',
  'root',
  'cwd',
  'target',
  'destination',
  'source',
  'input_path',
  'output_path',
  'source_path',
  'destination_path',
  'inputpath',
  'outputpath',
  'sourcepath',
  'destinationpath',
  'working_directory',
  'workingdirectory',
]);

/** Names a path travels under: checked for encodings whatever the adapter calls them. */
export function isPathName(name: string): boolean {
  return PATH_NAMES.has(normalizeName(name));
}

/** What kind of risk a name carries, or null for an ordinary name. */
export function dangerOf(name: string): 'credential' | 'command' | 'path' | null {
  const normal = normalizeName(name);
  const compact = normal.replace(/_/g, '');
  if (compact === 'auth' || compact === 'key') return 'credential';
  if (CREDENTIAL_PARTS.some((p) => compact.includes(p))) return 'credential';
  if (RISKY_WHOLE.has(normal) || RISKY_PARTS.has(normal)) return 'command';
  if (normal.split('_').some((part) => RISKY_PARTS.has(part))) return 'command';
  if (PATH_NAMES.has(normal)) return 'path';
  return null;
}
