import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { chmod, lstat, mkdir, open, readdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { modelStoreRoot } from '@secai/projections';
import {
  ArtifactDigestError,
  BaseError,
  hashArtifact,
  type HashArtifactOptions,
} from '@secai/contracts';
import type { Location, Observation, Presence } from './decider.js';

// The model store on disk (README "Store layout"). Everything under `<stateDir>/registry/` is
// written by this service only:
//
//   store/sha256/<hex>/<fileName>    the serving store: files 0444, directories 0555
//   staging/<hex>/<fileName>         a promoted artifact taken out of the quarantine area, being
//                                    re-hashed before it is published into the store
//   contained/<hex>/<fileName>       models moved out of service by a containment (area 0700)
//   trash/<random>                   a removal in progress (emptied at start)
//   rejected/<hex>.<random>          a custody copy that did not match and could not go back
//
// and the quarantine keeps promoted artifacts at `<stateDir>/quarantine/artifacts/<hex>/<fileName>`.
// Every move is one rename(2) of the `<hex>` directory on one filesystem, followed by an fsync of
// both parent directories, so a crash leaves the artifact either before or after the move.

export type StoreErrorCode = 'STORE_CONFLICT' | 'CROSS_DEVICE' | 'LAYOUT_INVALID';

/** A store operation that cannot go on (an unexpected entry, two filesystems). */
export class StoreError extends BaseError<StoreErrorCode> {}

export interface StoreLayout {
  /** `<stateDir>/registry` */
  registryDir: string;
  /** The serving store root; `storePath`s in events are relative to it. */
  storeRoot: string;
  stagingDir: string;
  /** The containment area; `containedPath`s are relative to it. */
  containmentRoot: string;
  trashDir: string;
  rejectedDir: string;
  /** Where the quarantine keeps promoted artifacts: `<dir>/<hex>/<fileName>`. */
  quarantineArtifacts: string;
}

export function storeLayout(stateDir: string): StoreLayout {
  const registryDir = join(stateDir, 'registry');
  return {
    registryDir,
    storeRoot: modelStoreRoot(stateDir),
    stagingDir: join(registryDir, 'staging'),
    containmentRoot: join(registryDir, 'contained'),
    trashDir: join(registryDir, 'trash'),
    rejectedDir: join(registryDir, 'rejected'),
    quarantineArtifacts: join(stateDir, 'quarantine', 'artifacts'),
  };
}

function errno(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException).code;
}

async function exists(path: string): Promise<boolean> {
  try {
    await lstat(path);
    return true;
  } catch (err) {
    if (errno(err) === 'ENOENT') return false;
    throw err;
  }
}

async function fsyncDir(path: string): Promise<void> {
  const fh = await open(path, constants.O_RDONLY | constants.O_DIRECTORY);
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/**
 * Renames a `<hex>` directory to another parent and makes it durable. Moving a directory to a new
 * parent rewrites its `..` entry, which needs write permission on it: it is opened up for the
 * move and set to `finalMode` afterwards.
 */
async function moveDir(from: string, to: string, finalMode: number): Promise<void> {
  const before = (await lstat(from)).mode & 0o7777;
  await chmod(from, 0o700);
  try {
    await rename(from, to);
  } catch (err) {
    await chmod(from, before).catch(() => undefined);
    if (errno(err) === 'EXDEV')
      throw new StoreError('CROSS_DEVICE', `${from} and ${to} are on different filesystems`, {
        cause: err,
      });
    if (errno(err) === 'ENOTEMPTY' || errno(err) === 'EEXIST')
      throw new StoreError('STORE_CONFLICT', `${to} already exists`, { cause: err });
    throw err;
  }
  await chmod(to, finalMode);
  await fsyncDir(join(from, '..'));
  await fsyncDir(join(to, '..'));
}

/** Files 0444, directories 0555, below and including `path` (children before their parent). */
async function makeReadOnly(path: string): Promise<void> {
  const st = await lstat(path);
  if (st.isSymbolicLink()) throw new StoreError('LAYOUT_INVALID', `${path} is a symbolic link`);
  if (st.isDirectory()) {
    await chmod(path, 0o700);
    for (const name of await readdir(path)) await makeReadOnly(join(path, name));
    await chmod(path, 0o555);
  } else {
    await chmod(path, 0o444);
  }
}

/** Removes a tree this service owns, opening up its read-only directories first. */
export async function removeTree(path: string): Promise<void> {
  const stack = [path];
  while (stack.length > 0) {
    const dir = stack.pop()!;
    const st = await lstat(dir).catch(() => undefined);
    if (!st?.isDirectory()) continue;
    await chmod(dir, 0o700).catch(() => undefined);
    for (const name of await readdir(dir).catch(() => [] as string[])) stack.push(join(dir, name));
  }
  await rm(path, { recursive: true, force: true });
}

function observationOf(err: unknown): Observation {
  if (err instanceof ArtifactDigestError) {
    if (err.code === 'ARTIFACT_NOT_FOUND') return { kind: 'absent' };
    return { kind: 'unreadable', detail: `${err.code}: ${err.message}`.slice(0, 512) };
  }
  return { kind: 'unreadable', detail: String(errno(err) ?? err).slice(0, 512) };
}

/** Hashes `path` into an observation: a missing artifact is `absent`, any failure `unreadable`. */
export async function observe(
  path: string,
  options: HashArtifactOptions = {},
): Promise<Observation> {
  try {
    const { digest, sizeBytes } = await hashArtifact(path, options);
    return { kind: 'hashed', digest, sizeBytes };
  } catch (err) {
    return observationOf(err);
  }
}

/**
 * The `<hex>` directory must hold exactly `fileName`: anything else is not an artifact this
 * layout wrote. Returns null when it does not exist at all.
 */
async function checkHexDir(dir: string, fileName: string): Promise<Observation | null> {
  let st;
  try {
    st = await lstat(dir);
  } catch (err) {
    if (errno(err) === 'ENOENT') return null;
    return observationOf(err);
  }
  if (!st.isDirectory()) return { kind: 'unreadable', detail: `${dir} is not a directory` };
  const names = await readdir(dir);
  if (names.length === 0) return { kind: 'absent' };
  if (names.length !== 1 || names[0] !== fileName)
    return {
      kind: 'unreadable',
      detail: `${dir} holds ${names.length} entries, not just ${JSON.stringify(fileName)}`,
    };
  return { kind: 'not_checked' };
}

/** The store's file operations. Decisions are made elsewhere; this only moves and hashes bytes. */
export class ModelStore {
  readonly layout: StoreLayout;

  constructor(stateDir: string) {
    this.layout = storeLayout(stateDir);
  }

  /** Creates the areas (idempotent) and empties the trash left by an interrupted removal. */
  async open(): Promise<void> {
    const l = this.layout;
    await mkdir(l.registryDir, { recursive: true, mode: 0o755 });
    await mkdir(join(l.storeRoot, 'sha256'), { recursive: true, mode: 0o755 });
    for (const dir of [l.stagingDir, l.containmentRoot, l.trashDir, l.rejectedDir])
      await mkdir(dir, { recursive: true, mode: 0o700 });
    for (const name of await readdir(l.trashDir)) await removeTree(join(l.trashDir, name));
  }

  hexDir(location: Location, hex: string): string {
    return location === 'store'
      ? join(this.layout.storeRoot, 'sha256', hex)
      : join(this.layout.containmentRoot, hex);
  }

  pathOf(location: Location, hex: string, fileName: string): string {
    return join(this.hexDir(location, hex), fileName);
  }

  /** Hashes the model where it is (store or containment). */
  async observeAt(
    location: Location,
    hex: string,
    fileName: string,
    options: HashArtifactOptions = {},
  ): Promise<Observation> {
    const layout = await checkHexDir(this.hexDir(location, hex), fileName);
    if (layout && layout.kind !== 'not_checked') return layout;
    if (!layout) return { kind: 'absent' };
    return observe(this.pathOf(location, hex, fileName), options);
  }

  async presence(hex: string): Promise<Presence> {
    return {
      store: await exists(this.hexDir('store', hex)),
      containment: await exists(this.hexDir('containment', hex)),
    };
  }

  /**
   * Takes the promoted artifact into custody (one rename out of the quarantine area into
   * `staging/`, so nothing outside the registry can change it between the hash and the publish),
   * then hashes it there. A copy already in staging (a crash after the custody rename) is used
   * as is.
   */
  async takeCustody(
    hex: string,
    fileName: string,
    options: HashArtifactOptions = {},
  ): Promise<Observation> {
    const staged = join(this.layout.stagingDir, hex);
    let layout = await checkHexDir(staged, fileName);
    if (layout?.kind === 'absent') {
      // An empty directory left by an interrupted move: not a copy.
      await removeTree(staged);
      layout = null;
    }
    if (!layout) {
      const source = join(this.layout.quarantineArtifacts, hex);
      layout = await checkHexDir(source, fileName);
      if (!layout) return { kind: 'absent' };
      if (layout.kind !== 'not_checked') return layout;
      await moveDir(source, staged, 0o700);
    } else if (layout.kind !== 'not_checked') return layout;
    return observe(join(staged, fileName), options);
  }

  /** Publishes the custody copy into `store/sha256/<hex>` (read-only), atomically. */
  async publish(hex: string, fileName: string): Promise<string> {
    const staged = join(this.layout.stagingDir, hex);
    await makeReadOnly(join(staged, fileName));
    const target = this.hexDir('store', hex);
    // An empty directory left at the target is replaced by rename(2); anything else refuses.
    await moveDir(staged, target, 0o555);
    return this.pathOf('store', hex, fileName);
  }

  /**
   * Gives a custody copy that did not match back to the quarantine area (the quarantine owns
   * rejected bytes); when that path is taken meanwhile, keeps it under `rejected/`.
   */
  async returnIncoming(hex: string): Promise<string | null> {
    const staged = join(this.layout.stagingDir, hex);
    if (!(await exists(staged))) return null;
    const back = join(this.layout.quarantineArtifacts, hex);
    if (!(await exists(back))) {
      try {
        await moveDir(staged, back, 0o555);
        return back;
      } catch (err) {
        if (!(err instanceof StoreError) || err.code !== 'STORE_CONFLICT') throw err;
      }
    }
    const kept = join(this.layout.rejectedDir, `${hex}.${randomBytes(6).toString('hex')}`);
    await moveDir(staged, kept, 0o500);
    return kept;
  }

  /** Moves `store/sha256/<hex>` to `contained/<hex>`, atomically. */
  async contain(hex: string): Promise<void> {
    await moveDir(this.hexDir('store', hex), this.hexDir('containment', hex), 0o555);
  }

  /**
   * Deletes a model's bytes: each `<hex>` directory is first renamed into the trash (atomic: it
   * leaves the store at once), then the tree is removed.
   */
  async remove(hex: string, where: Presence): Promise<void> {
    for (const location of ['store', 'containment'] as const) {
      if (!where[location]) continue;
      const dir = this.hexDir(location, hex);
      if (!(await exists(dir))) continue;
      const trash = join(this.layout.trashDir, `${hex}.${randomBytes(6).toString('hex')}`);
      await moveDir(dir, trash, 0o700);
      await removeTree(trash);
    }
  }
}
