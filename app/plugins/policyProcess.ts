/**
 * A scheduling policy as a process in any language (README "Plug-ins"). Started once per run (and
 * again by `resume`); each slot it reads one JSON line `{"slot": t, "instance": {…}}` on stdin and
 * writes one JSON line, the decision `{"admitted": [...], "bandwidth": {...}}`. Its stderr is kept
 * in the run's folder. A crash, a timeout, a line that is not a decision or an infeasible decision
 * rejects with a PolicyProcessError naming the slot, the problem and the stderr file.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { CommandPolicySpec } from '../scenario';
import { completeDecision, PolicyDecisionError } from '../../scheduler/plugins/decision';
import type { PolicyQuestion } from '../../scheduler/plugins/slotPolicy';

/** Where a process policy's stderr goes, in the run's folder (appended to by `resume`). */
export const POLICY_STDERR_FILE = 'policy-stderr.log';

/** The policy process failed in slot `slot`: the run stops (exit status 1) with a checkpoint to resume from. */
export class PolicyProcessError extends Error {
  override readonly name = 'PolicyProcessError';
  readonly exitCode = 1;
  constructor(
    readonly command: string,
    readonly slot: number,
    readonly problem: string,
    readonly stderrFile: string,
    options?: { cause?: unknown },
  ) {
    super(`policy process '${command}', slot ${slot}: ${problem} (its stderr: ${stderrFile})`, options);
  }
}

type Read = { line: string } | { eof: true } | { timeout: true };

/** A running policy process; `decide` asks it for one slot. */
export class PolicyProcess {
  private readonly child: ChildProcess;
  private readonly lines: string[] = [];
  private waiting: ((r: Read) => void) | null = null;
  private eof = false;
  private readonly exited: Promise<string>;
  /** Answers by slot: a slot run again (a worker died) gets the same answer without asking twice. */
  private readonly answers = new Map<number, unknown>();
  private failed: PolicyProcessError | null = null;
  readonly stderrFile: string;
  private readonly name: string;

  /** Starts `spec.command` in `spec.cwd`, its stderr appended to POLICY_STDERR_FILE in `outDir`. */
  constructor(
    private readonly spec: CommandPolicySpec,
    outDir: string,
  ) {
    this.name = spec.command.join(' ');
    this.stderrFile = join(outDir, POLICY_STDERR_FILE);
    const stderr = openSync(this.stderrFile, 'a');
    try {
      this.child = spawn(spec.command[0]!, spec.command.slice(1), { cwd: spec.cwd, stdio: ['pipe', 'pipe', stderr] });
    } finally {
      closeSync(stderr);
    }
    this.exited = new Promise((resolve) => {
      this.child.once('error', (e) => resolve(`could not be started or stopped (${e.message})`));
      this.child.once('exit', (code, signal) => resolve(signal ? `was killed by ${signal}` : `exited with status ${code}`));
    });
    this.child.stdin!.on('error', () => undefined); // a dead reader: reported by `exited`
    const rl = createInterface({ input: this.child.stdout! });
    rl.on('line', (line) => (this.waiting ? this.waiting({ line }) : this.lines.push(line)));
    rl.on('close', () => {
      this.eof = true;
      this.waiting?.({ eof: true });
    });
  }

  private fail(slot: number, problem: string, cause?: unknown): never {
    this.failed = new PolicyProcessError(this.name, slot, problem, this.stderrFile, cause === undefined ? undefined : { cause });
    throw this.failed;
  }

  private next(timeoutS: number): Promise<Read> {
    const line = this.lines.shift();
    if (line !== undefined) return Promise.resolve({ line });
    if (this.eof) return Promise.resolve({ eof: true });
    return new Promise((resolve) => {
      const timer = setTimeout(() => done({ timeout: true }), timeoutS * 1000);
      const done = (r: Read) => {
        clearTimeout(timer);
        this.waiting = null;
        resolve(r);
      };
      this.waiting = done;
    });
  }

  /** The process's decision for `question.slot`, checked against its instance (scheduler/plugins/decision.ts). */
  async decide(question: PolicyQuestion): Promise<unknown> {
    const { slot, instance } = question;
    if (this.answers.has(slot)) return this.answers.get(slot);
    if (this.failed) throw this.failed;
    this.child.stdin!.write(`${JSON.stringify({ slot, instance })}\n`);
    const read = await this.next(this.spec.timeoutS);
    if ('timeout' in read) {
      this.child.kill('SIGKILL');
      this.fail(slot, `no answer within timeoutS = ${this.spec.timeoutS} s (the process was stopped)`);
    }
    if ('eof' in read) this.fail(slot, `the process ${await this.exited} before answering`);
    let answer: unknown;
    try {
      answer = JSON.parse(read.line);
    } catch (cause) {
      this.fail(slot, `the answer is not a JSON line: ${JSON.stringify(read.line.slice(0, 200))}`, cause);
    }
    try {
      completeDecision(instance, answer, slot);
    } catch (e) {
      if (e instanceof PolicyDecisionError) this.fail(slot, e.problem, e);
      throw e;
    }
    this.answers.set(slot, answer);
    return answer;
  }

  /** Closes its stdin (the end of the run) and waits for it to exit; kills it after `graceS`. */
  async close(graceS = 2): Promise<void> {
    this.child.stdin!.end();
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const timer = setTimeout(() => this.child.kill('SIGKILL'), graceS * 1000);
    await this.exited;
    clearTimeout(timer);
  }
}
