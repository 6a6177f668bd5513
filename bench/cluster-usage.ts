// What each process of the cluster bench reports about itself (its "cpu" answer), and the run-queue
// wait of a process that the bench reads from /proc: together they tell CPU spent from CPU waited for.
import { readdirSync, readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';

/** A process's own counts so far: CPU ms (user, system), context switches, and its event loop's idle ms. */
export interface ProcessUsage {
  userMs: number;
  systemMs: number;
  /** Context switches the process asked for (it blocked: waiting on sockets, Redis) and ones forced on it (preempted). */
  voluntary: number;
  involuntary: number;
  /** Milliseconds the event loop waited for I/O or timers (Node's eventLoopUtilization), and ran callbacks. */
  idleMs: number;
  activeMs: number;
}

export function processUsage(): ProcessUsage {
  const usage = process.resourceUsage();
  const loop = performance.eventLoopUtilization();
  return {
    userMs: usage.userCPUTime / 1000,
    systemMs: usage.systemCPUTime / 1000,
    voluntary: usage.voluntaryContextSwitches,
    involuntary: usage.involuntaryContextSwitches,
    idleMs: loop.idle,
    activeMs: loop.active,
  };
}

/** Read and write system calls process `pid` has made so far (/proc/PID/io); undefined where /proc has no io. */
export function syscalls(pid: number): { reads: number; writes: number } | undefined {
  try {
    const io = readFileSync(`/proc/${pid}/io`, 'utf8');
    const field = (name: string) => Number(new RegExp(`^${name}: (\\d+)$`, 'm').exec(io)?.[1] ?? NaN);
    return { reads: field('syscr'), writes: field('syscw') };
  } catch {
    return undefined;
  }
}

/**
 * Milliseconds the threads of process `pid` have run and have waited on a run queue, ready but not running
 * (/proc/PID/task/TID/schedstat, summed over the threads); undefined where /proc has no schedstat.
 */
export function schedStat(pid: number): { runMs: number; waitMs: number } | undefined {
  try {
    let run = 0;
    let wait = 0;
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      const [r, w] = readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').trim().split(/\s+/).map(Number);
      run += r!;
      wait += w!;
    }
    return { runMs: run / 1e6, waitMs: wait / 1e6 };
  } catch {
    return undefined;
  }
}
