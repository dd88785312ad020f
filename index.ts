/** The airlora library: everything a user needs to compose their own runs and topologies. */
export * from './runtime/random';
export * from './runtime/scenario';
export * from './channels/linkBudget';
export * from './channels';
export * from './runtime/report';
export * from './runtime/system';
export * from './models';
export * from './scheduler';
export * from './runtime/study';
export * from './runtime/plugins';
export * from './runtime/library';
export type { Strategy, FitResult, FitFailure, GlobalModel } from './actors/strategy';
export { createStrategy, type PluginStrategy } from './actors/strategyModule';
