/**
 * The host service of an `airlora worker` (README "Running on several machines"):
 * it answers discovery, and serves each session a coordinator opens (one host of one run) with an
 * ActorHost on a thread of its own (by default a one-thread piscina pool, so that this process's
 * event loop stays free to say "working" and to answer NATS pings during a long step). A session's
 * calls run one after the other, in the order they came; each answer goes back in frames under the
 * server's max_payload. A coordinator of another airlora version is refused, both versions named.
 */
import * as path from 'node:path';
import { createInbox, type NatsConnection } from '@nats-io/transport-node';
import { collectBuffers } from './canonical';
import { deserialize, FrameAssembler, publishFrames, readFrame, serialize, type FrameHeader } from './natsFrames';
import { codeRoot, DISCOVER_SUBJECT, type HostServiceInfo, type OpenSession } from './natsTransport';
import { PiscinaTransport } from './piscinaTransport';
import type { ActorLoad, ActorSnapshot, HostInit, StepBatch } from './protocol';
import { WorkerDiedError, type HostEndpoint, type Transport } from './transport';

export interface HostServiceOptions {
  /** `host:pid`, as discovery names this worker. */
  readonly worker: string;
  readonly version: string;
  /** The transport a session's host runs on (default: a one-thread piscina pool per session). */
  readonly localTransport?: () => Transport;
  /** A session with no call for this long is ended (its coordinator is gone); default 10 minutes. */
  readonly idleMs?: number;
  readonly log?: (line: string) => void;
}

export interface HostService {
  /** Where sessions' calls come in. */
  readonly subject: string;
  /** Ends every session and stops answering. */
  stop(): Promise<void>;
}

interface Session {
  readonly id: string;
  readonly reply: string;
  transport?: Transport;
  endpoint?: HostEndpoint;
  /** Calls run in order: each waits for the one before. */
  queue: Promise<void>;
  keepaliveMs: number;
  lastCallMs: number;
  /** Code folder of the coordinator, for its module paths. */
  root: string;
}

/** `module` under the coordinator's code folder `from`, moved under this worker's `to`. */
function moveModule(module: string, from: string, to: string): string {
  return from !== to && module.startsWith(from + path.sep) ? path.join(to, module.slice(from.length)) : module;
}

/** Serves actor hosts to coordinators on `nc` (see the file comment). */
export async function serveHosts(nc: NatsConnection, options: HostServiceOptions): Promise<HostService> {
  const subject = createInbox('airlora.hosts.w');
  const sessions = new Map<string, Session>();
  const frames = new FrameAssembler();
  const log = options.log ?? (() => undefined);
  const localTransport = options.localTransport ?? (() => new PiscinaTransport(1));
  const here = codeRoot();

  const answer = (s: Session, call: number, kind: 'ok' | 'error', value: unknown): void => {
    if (!nc.isClosed()) publishFrames(nc, s.reply, { call, session: s.id, kind }, serialize(value));
  };

  const end = async (s: Session): Promise<void> => {
    sessions.delete(s.id);
    frames.forget(s.id);
    await s.endpoint?.close().catch(() => undefined);
    await s.transport?.close().catch(() => undefined);
  };

  /** Runs one call on the session's host; "working" frames go out while it runs. */
  const run = async (s: Session, header: FrameHeader, args: unknown): Promise<unknown> => {
    const ep = s.endpoint;
    if (header.kind === 'open') {
      const open = args as OpenSession;
      if (open.airlora !== options.version)
        throw new Error(
          `worker ${options.worker} is airlora ${options.version}; the run is airlora ${open.airlora}: run one version across the cluster`,
        );
      s.keepaliveMs = open.keepaliveMs;
      s.root = open.root;
      s.transport = localTransport();
      s.endpoint = await s.transport.open(open.index);
      log(`host ${open.index} of a run: session ${s.id} opened`);
      return null;
    }
    if (header.kind === 'close') {
      await end(s);
      return null;
    }
    if (!ep) throw new Error(`session ${s.id} has no host (call '${header.kind}' before 'open')`);
    switch (header.kind) {
      case 'init': {
        const init = args as HostInit;
        return ep.init({ ...init, resources: init.resources.map((r) => ({ ...r, module: moveModule(r.module, s.root, here) })) });
      }
      case 'load':
        return ep.load(
          (args as ActorLoad[]).map((a) =>
            a.spec.module ? { ...a, spec: { ...a.spec, module: moveModule(a.spec.module, s.root, here) } } : a,
          ),
        );
      case 'step': {
        const batch = args as StepBatch;
        const transfer = new Set<ArrayBuffer>();
        for (const [, mail] of batch.mail) for (const e of mail) if (e.body !== undefined) collectBuffers(e.body, transfer);
        return ep.step(batch, [...transfer]);
      }
      case 'collect':
        return ep.collect();
      case 'commit':
        return ep.commit();
      case 'rollback':
        return ep.rollback();
      case 'snapshot':
        return ep.snapshot((args as string[] | null) ?? undefined);
      case 'restore':
        return ep.restore(args as Array<[string, ActorSnapshot]>);
      default:
        throw new Error(`unknown host call '${header.kind}'`);
    }
  };

  const handle = async (s: Session, header: FrameHeader, bytes: Uint8Array): Promise<void> => {
    s.lastCallMs = Date.now();
    const working = setInterval(() => {
      s.lastCallMs = Date.now();
      if (!nc.isClosed()) publishFrames(nc, s.reply, { call: header.call, session: s.id, kind: 'working' }, new Uint8Array(0));
    }, s.keepaliveMs);
    try {
      const value = await run(s, header, deserialize(bytes));
      answer(s, header.call, 'ok', value ?? null);
    } catch (err) {
      const died = err instanceof WorkerDiedError;
      answer(s, header.call, 'error', {
        name: err instanceof Error ? err.name : 'Error',
        message: err instanceof Error ? err.message : String(err),
        died,
      });
      if (died) await end(s);
    } finally {
      clearInterval(working);
      s.lastCallMs = Date.now();
    }
  };

  const discovery = nc.subscribe(DISCOVER_SUBJECT, {
    callback: (_e, m) => {
      m.respond(
        JSON.stringify({ worker: options.worker, airlora: options.version, subject, sessions: sessions.size } satisfies HostServiceInfo),
      );
    },
  });
  const calls = nc.subscribe(subject, {
    callback: (_e, m) => {
      const { header, slice } = readFrame(m.data);
      let s = sessions.get(header.session);
      if (!s) {
        if (header.kind !== 'open' || header.reply === undefined) return; // a session already ended
        s = { id: header.session, reply: header.reply, queue: Promise.resolve(), keepaliveMs: 1000, lastCallMs: Date.now(), root: here };
        sessions.set(s.id, s);
      }
      const bytes = frames.add(header, slice);
      if (!bytes) return;
      const session = s;
      session.queue = session.queue
        .then(() => handle(session, header, bytes))
        .catch((e: unknown) => log(`session ${session.id}: ${String(e)}`));
    },
  });
  const idleMs = options.idleMs ?? 10 * 60_000;
  const reaper = setInterval(
    () => {
      for (const s of sessions.values())
        if (Date.now() - s.lastCallMs > idleMs) {
          log(`session ${s.id}: no call for ${Math.round(idleMs / 1000)} s, ended`);
          void end(s);
        }
    },
    Math.min(idleMs, 60_000),
  );
  reaper.unref();

  return {
    subject,
    stop: async () => {
      clearInterval(reaper);
      discovery.unsubscribe();
      calls.unsubscribe();
      await Promise.all([...sessions.values()].map(end));
    },
  };
}
