/**
 * Real peers (baresip, sipp, kamailio, mosquitto, ffmpeg, ...) are programs on PATH.
 * In CI (CI=true) a missing peer fails the run; on a developer machine the tests that
 * need it are skipped with a printed notice naming the missing program.
 */
import { execFileSync } from 'node:child_process';

const cache = new Map<string, string | null>();

export function which(program: string): string | null {
  if (cache.has(program)) return cache.get(program) ?? null;
  let found: string | null = null;
  try {
    found = execFileSync('sh', ['-c', `command -v ${JSON.stringify(program)}`], { encoding: 'utf8' }).trim() || null;
  } catch {
    found = null;
  }
  cache.set(program, found);
  return found;
}

export const inCI = process.env.CI === 'true' || process.env.CI === '1';

/**
 * `describeWithPeers(['baresip'], 'title', () => {...})`: runs the block when every
 * program is present; in CI a missing program is a failing test, locally a skip + notice.
 */
export function describeWithPeers(programs: string[], title: string, body: () => void): void {
  const missing = programs.filter((p) => !which(p));
  if (missing.length === 0) {
    describe(title, body);
    return;
  }
  if (inCI) {
    describe(title, () => {
      test(`required peer program(s) present: ${missing.join(', ')}`, () => {
        throw new Error(`missing peer program(s) in CI: ${missing.join(', ')} (see .ci/run)`);
      });
    });
    return;
  }
  process.stderr.write(`\n[peer] SKIPPED "${title}": missing ${missing.join(', ')} (install it, see ../shared/docs/PEERS.md)\n`);
  describe.skip(title, body);
}
