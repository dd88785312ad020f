/**
 * The entry a study forks for each run: the same code as `airlora run` / `airlora resume`
 * (app/cli.ts `main`), with the study process watched over its IPC channel. When the study
 * dies (even by SIGKILL) the channel closes and the run stops at once, as if killed: its
 * checkpoints are atomic, so the next start of the study resumes it.
 */
import { main } from '../cli';

let finished = false;
process.on('disconnect', () => {
  if (!finished) process.exit(137);
});
main(process.argv.slice(2)).then(
  (code) => {
    finished = true;
    process.exitCode = code;
    process.disconnect?.();
  },
  (err: unknown) => {
    finished = true;
    console.error(err instanceof Error && err.stack ? err.stack : String(err));
    process.exitCode = 1;
    process.disconnect?.();
  },
);
