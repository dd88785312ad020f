/** Plug-ins (README "Plug-ins"): policies from modules and processes. */
export { PolicyProcess, PolicyProcessError, POLICY_STDERR_FILE } from './policyProcess';
export { policyFromArgument, policyLabel, resolvePolicySpec } from './policySpec';
