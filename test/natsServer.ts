/** The throwaway nats-server of the cluster tests: bench/natsServer.ts (the benchmarks start the same one). */
export { natsServerBinary, startNatsServer, type TestNatsServer } from '../bench/natsServer';
