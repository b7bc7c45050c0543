/**
 * Small ext4 file systems on loop devices, for tests that need a real disk's behaviour:
 * running out of space, and what a power cut leaves on the device. Needs root and
 * util-linux/e2fsprogs (losetup, mount, mkfs.ext4, fsfreeze, e2fsck, debugfs); `.ci/run`
 * installs them. Every device and mount made here is undone by dispose(), and by a safety
 * net when the process exits, so a failed test leaves no loop device behind.
 */
import { execFileSync } from 'node:child_process';
import { closeSync, copyFileSync, mkdtempSync, openSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';

const PROGRAMS = ['losetup', 'mount', 'umount', 'mkfs.ext4', 'fsfreeze', 'e2fsck', 'debugfs'];

/** What is missing to run loop-device tests here (empty when they can run). */
export function loopFsMissing(): string[] {
  const missing = PROGRAMS.filter((p) => {
    try {
      execFileSync('sh', ['-c', `command -v ${p}`], { stdio: 'ignore', env: { ...process.env, PATH: `${process.env.PATH}:/usr/sbin:/sbin` } });
      return false;
    } catch {
      return true;
    }
  });
  if (process.getuid?.() !== 0) missing.push('root (loop devices and mounts)');
  return missing;
}

/**
 * describeWithPeers for loop-device tests: runs the block as root with the programs present;
 * in CI anything missing is a failing test, elsewhere a skip with a notice that names it.
 */
export function describeWithLoopFs(title: string, body: () => void): void {
  const missing = loopFsMissing();
  if (!missing.length) {
    describe(title, body);
    return;
  }
  if (process.env.CI === 'true' || process.env.CI === '1') {
    describe(title, () => {
      test(`needs ${missing.join(', ')}`, () => {
        throw new Error(`missing in CI: ${missing.join(', ')} (see .ci/run)`);
      });
    });
    return;
  }
  process.stderr.write(`\n[peer] SKIPPED "${title}": needs ${missing.join(', ')}\n`);
  describe.skip(title, body);
}

const env = { ...process.env, PATH: `${process.env.PATH}:/usr/sbin:/sbin` };
function run(cmd: string, args: string[]): string {
  return execFileSync(cmd, args, { encoding: 'utf8', env, stdio: ['ignore', 'pipe', 'pipe'] });
}

const undo: Array<() => void> = [];
process.once('exit', () => {
  for (const u of undo.splice(0).reverse()) {
    try {
      u();
    } catch {
      /* best effort */
    }
  }
});

export class LoopFs {
  private constructor(
    readonly image: string,
    readonly device: string,
    readonly mountPoint: string,
    private readonly cleanup: () => void,
  ) {}

  /** A fresh ext4 of `bytes` on a loop device over `image`, mounted at a new directory. */
  static create(image: string, bytes: number, mountOptions?: string): LoopFs {
    closeSync(openSync(image, 'w'));
    truncateSync(image, bytes);
    // no reserved blocks: "full" means full for root too, which Node-RED often runs as
    run('mkfs.ext4', ['-q', '-F', '-m', '0', '-E', 'lazy_itable_init=0,lazy_journal_init=0', image]);
    const device = run('losetup', ['--find', '--show', image]).trim();
    const mountPoint = mkdtempSync(path.join(tmpdir(), 'loopfs-mnt-'));
    try {
      run('mount', [...(mountOptions ? ['-o', mountOptions] : []), device, mountPoint]);
    } catch (err) {
      run('losetup', ['-d', device]);
      throw err;
    }
    let done = false;
    const cleanup = (): void => {
      if (done) return;
      done = true;
      try {
        run('fsfreeze', ['--unfreeze', mountPoint]);
      } catch {
        /* not frozen */
      }
      try {
        run('umount', [mountPoint]);
      } catch {
        run('umount', ['-l', mountPoint]);
      }
      run('losetup', ['-d', device]);
      rmSync(mountPoint, { recursive: true, force: true });
    };
    undo.push(cleanup);
    return new LoopFs(image, device, mountPoint, cleanup);
  }

  /** Fills the file system to the last block with a file; returns a way to give the space back. */
  fill(name = 'filler'): () => void {
    const file = path.join(this.mountPoint, name);
    // big chunks first, then small ones until nothing fits
    for (const size of [1 << 20, 64 << 10, 4096, 1024]) {
      try {
        for (;;) writeFileSync(file, Buffer.alloc(size), { flag: 'a' });
      } catch {
        /* ENOSPC: next smaller size */
      }
    }
    run('sync', ['-f', file]);
    return () => {
      rmSync(file, { force: true });
      run('sync', ['-f', this.mountPoint]);
    };
  }

  freeze(): void {
    run('fsfreeze', ['--freeze', this.mountPoint]);
  }

  thaw(): void {
    run('fsfreeze', ['--unfreeze', this.mountPoint]);
  }

  dispose(): void {
    this.cleanup();
    const i = undo.indexOf(this.cleanup);
    if (i >= 0) undo.splice(i, 1);
  }
}

/**
 * A disk that can lose power: an ext4 on a loop device whose backing image lives on a
 * second ("outer") loop-mounted file system. powerCut() freezes the outer file system,
 * which stops every write the inner device sends from landing, copies the image as it is
 * at that instant, and thaws: the copy is exactly what the device had received — what
 * fsync pushed to it — and nothing that was only in the page cache. read() then replays
 * the copy's ext4 journal (e2fsck, as the next mount after a crash would) and reads a file
 * out of it (debugfs), without mounting it.
 */
export class PowerCutDisk {
  private constructor(
    private readonly dir: string,
    private readonly outer: LoopFs,
    readonly inner: LoopFs,
  ) {}

  static create(bytes = 32 << 20): PowerCutDisk {
    const dir = mkdtempSync(path.join(tmpdir(), 'powercut-'));
    const outer = LoopFs.create(path.join(dir, 'outer.img'), bytes * 2 + (16 << 20));
    let inner: LoopFs;
    try {
      inner = LoopFs.create(path.join(outer.mountPoint, 'disk.img'), bytes);
    } catch (err) {
      outer.dispose();
      throw err;
    }
    return new PowerCutDisk(dir, outer, inner);
  }

  get mountPoint(): string {
    return this.inner.mountPoint;
  }

  /** The device's content at this instant, as a power cut would leave it. */
  powerCut(name = 'after-cut.img'): string {
    const copy = path.join(this.dir, name);
    this.outer.freeze();
    try {
      copyFileSync(this.inner.image, copy);
    } finally {
      this.outer.thaw();
    }
    return copy;
  }

  /** A file's bytes as the next boot would find them on `image` (journal replayed), or null. */
  static read(image: string, file: string): Buffer | null {
    try {
      run('e2fsck', ['-fy', image]);
    } catch (err) {
      // exit status 1/2 = errors corrected (the journal replay counts); 4+ = left uncorrected
      const status = (err as { status?: number }).status ?? 8;
      if (status >= 4) throw err;
    }
    const out = path.join(path.dirname(image), `${path.basename(image)}.${path.basename(file)}`);
    rmSync(out, { force: true });
    run('debugfs', ['-R', `dump ${file.startsWith('/') ? file : '/' + file} ${out}`, image]);
    try {
      return readFileSync(out);
    } catch {
      return null;
    } finally {
      rmSync(out, { force: true });
    }
  }

  dispose(): void {
    this.inner.dispose();
    this.outer.dispose();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
