/**
 * Throwaway nats-server for tests and benchmarks (test/natsServer.ts re-exports it): a temp config listening on a random loopback port (read back
 * from the ports file), its own JetStream store folder, short pings. Fails, never skips, when
 * nats-server is not installed.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface TestNatsServer {
  url: string;
  /** Stops the server and removes its folder. */
  stop(): Promise<void>;
}

/** Where nats-server is (on PATH, or /usr/sbin where Debian puts it), or an Error saying how to install it. */
export function natsServerBinary(): string {
  const found = spawnSync('sh', ['-c', 'command -v nats-server'], { encoding: 'utf8' });
  if (found.status === 0) return found.stdout.trim();
  if (existsSync('/usr/sbin/nats-server')) return '/usr/sbin/nats-server';
  throw new Error(
    'nats-server is not installed: the cluster tests need it (Debian/Ubuntu: sudo apt-get install -y nats-server; `npm test` installs it when it can, ./.ci/run always does)',
  );
}

/** Starts a server (with `maxPayloadBytes`, a max_payload below NATS's default 1 MB); resolves once its port is known. */
export async function startNatsServer(options: { maxPayloadBytes?: number } = {}): Promise<TestNatsServer> {
  const bin = natsServerBinary();
  const dir = mkdtempSync(join(tmpdir(), 'airlora-nats-'));
  const config = join(dir, 'nats.conf');
  writeFileSync(
    config,
    [
      `listen: "127.0.0.1:-1"`,
      `ports_file_dir: "${dir}"`,
      `ping_interval: "1s"`,
      `ping_max: 2`,
      ...(options.maxPayloadBytes ? [`max_payload: ${options.maxPayloadBytes}`] : []),
      `jetstream { store_dir: "${join(dir, 'store')}" }`,
      '',
    ].join('\n'),
  );
  const server: ChildProcess = spawn(bin, ['-c', config], { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  server.stderr!.on('data', (d) => (log += d));
  const exited = new Promise<void>((resolve) => server.on('exit', () => resolve()));
  const portsFile = () => readdirSync(dir).find((f) => f.endsWith('.ports'));
  for (let i = 0; i < 200 && !portsFile(); i++) {
    if (server.exitCode !== null) break;
    await new Promise((r) => setTimeout(r, 25));
  }
  const file = portsFile();
  if (!file) {
    server.kill('SIGKILL');
    throw new Error(`nats-server did not start:\n${log}`);
  }
  const ports = JSON.parse(readFileSync(join(dir, file), 'utf8')) as { nats: string[] };
  return {
    url: ports.nats[0] as string,
    stop: async () => {
      if (server.exitCode === null) server.kill('SIGTERM');
      await exited;
      if (existsSync(dir)) rmSync(dir, { recursive: true, force: true });
    },
  };
}
