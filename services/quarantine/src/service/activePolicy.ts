// The active-policy reader moved to @secai/streams (inference and the GPU watch read it too).
export {
  ACTIVE_POLICY,
  ActivePolicyReader,
  foldActivePolicy,
  type LoadedPolicy,
} from '@secai/streams';
