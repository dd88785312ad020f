/** The airlora library: everything a user needs to compose their own runs and topologies. */
export * from './util/random';
export * from './app/scenario';
export * from './channels/linkBudget';
export * from './channels';
export * from './app/report';
export * from './runtime/system';
export * from './models';
export * from './scheduler';
export * from './app/study';
export * from './app/plugins';
export * from './app/library';
export type { Strategy, FitResult, FitFailure, GlobalModel } from './actors/strategy';
export { createStrategy, type PluginStrategy } from './actors/strategyModule';
