// Finding and killing every process a sandboxed command left, shared by `runSandboxed` (after each
// run) and `spawnSandboxed` (on kill() or when the server exits). With a pid namespace the kernel
// kills the rest when its pid 1 dies; without one the process group and the parent chain are what
// is left to find them by.
import { readdir, readFile } from 'node:fs/promises';

interface ProcessTree {
  /** Every live process whose parent chain reaches the root, or whose process group is `pgid`. */
  all: Set<number>;
  /** The sandbox's own chain among them, which is not counted as reaped. */
  chain: Set<number>;
  /** Start time (clock ticks since boot) of each process read, to tell a reused pid apart. */
  starts: Map<number, number>;
}

/** pid (comm) state ppid pgrp ...: the fields after the comm, which may contain spaces and ')'. */
function statFields(stat: string): string[] {
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
}

/**
 * Pids of every live process whose parent chain reaches `root`, or whose process group is `pgid`,
 * and the sandbox's own chain among them (`root`, and in namespace mode its first child, the
 * pid-1 shell, and that shell's earliest child, the worker) which is not counted as reaped.
 */
export async function processTree(
  root: number,
  pgid: number,
  chainDepth: number,
): Promise<ProcessTree> {
  const parents = new Map<number, number>();
  const starts = new Map<number, number>();
  const found = new Set<number>();
  const chain = new Set<number>([root]);
  let entries: string[];
  try {
    entries = await readdir('/proc');
  } catch {
    return { all: found, chain, starts };
  }
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const fields = statFields(await readFile(`/proc/${entry}/stat`, 'utf8'));
      const state = fields[0];
      if (state === 'Z' || state === 'X') continue;
      const pid = Number(entry);
      parents.set(pid, Number(fields[1]));
      starts.set(pid, Number(fields[19]));
      if (Number(fields[2]) === pgid) found.add(pid);
    } catch {
      // exited meanwhile
    }
  }
  const isDescendant = (pid: number): boolean => {
    let cursor: number | undefined = pid;
    for (let depth = 0; cursor !== undefined && cursor > 1 && depth < 4096; depth++) {
      if (cursor === root) return true;
      cursor = parents.get(cursor);
    }
    return false;
  };
  for (const pid of parents.keys()) if (isDescendant(pid)) found.add(pid);
  let cursor = root;
  for (let depth = 0; depth < chainDepth; depth++) {
    let first: number | undefined;
    for (const [pid, ppid] of parents) {
      if (ppid !== cursor) continue;
      if (first === undefined || (starts.get(pid) ?? 0) < (starts.get(first) ?? 0)) first = pid;
    }
    if (first === undefined) break;
    chain.add(first);
    cursor = first;
  }
  return { all: found, chain, starts };
}

export function killQuietly(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // already gone
  }
}

/** Whether `pid` is still the live (not zombie) process that started at `start`. */
async function stillRunning(pid: number, start: number | undefined): Promise<boolean> {
  try {
    const fields = statFields(await readFile(`/proc/${pid}/stat`, 'utf8'));
    if (fields[0] === 'Z' || fields[0] === 'X') return false;
    return start === undefined || Number(fields[19]) === start;
  } catch {
    return false;
  }
}

/**
 * The processes of one sandboxed command: every scan SIGKILLs the process group and every process
 * of the tree, and remembers what it found. Every pid any scan identified as the sandbox's own
 * chain (unshare → pid-1 sh → worker in namespace mode; the worker itself otherwise) is
 * remembered, not recomputed per scan: once the leader has been reaped, a SIGKILLed sh or worker
 * that the kernel has not finished yet is no longer reachable from the leader and (reparented)
 * looks like an escaped group member. Recomputing the chain then counted it as a reaped
 * descendant, so a loaded machine reported 2 or 3 instead of 1.
 */
export class SandboxTree {
  private readonly seen = new Map<number, number | undefined>();
  private readonly chainPids = new Set<number>();

  constructor(
    private readonly leader: number | undefined,
    private readonly chainDepth: number,
  ) {}

  async scanAndKill(): Promise<void> {
    if (this.leader === undefined) return;
    const {
      all: tree,
      chain,
      starts,
    } = await processTree(this.leader, this.leader, this.chainDepth);
    for (const pid of chain) this.chainPids.add(pid);
    for (const pid of tree) this.seen.set(pid, starts.get(pid));
    try {
      process.kill(-this.leader, 'SIGKILL');
    } catch {
      // group already empty
    }
    for (const pid of tree) killQuietly(pid);
  }

  /** Processes any scan found beyond the sandbox's own chain. */
  reapedDescendants(): number {
    let reaped = 0;
    for (const pid of this.seen.keys()) if (!this.chainPids.has(pid)) reaped++;
    return reaped;
  }

  /**
   * Waits until every process any scan found has died (a SIGKILLed process is gone only once the
   * kernel has run its exit), killing again what still runs. Gives up after `boundMs` (a process
   * stuck in uninterruptible sleep) and returns the pids still running then.
   */
  async waitGone(boundMs: number): Promise<number[]> {
    const deadline = Date.now() + boundMs;
    let pause = 5;
    for (;;) {
      const running: number[] = [];
      for (const [pid, start] of this.seen) {
        if (await stillRunning(pid, start)) running.push(pid);
      }
      if (running.length === 0 || Date.now() >= deadline) return running;
      for (const pid of running) killQuietly(pid);
      await new Promise((r) => setTimeout(r, pause));
      pause = Math.min(100, pause * 2);
    }
  }
}
