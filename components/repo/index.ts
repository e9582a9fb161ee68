// The repository on disk: its root, and one way to run its scripts here or on a host.
export {
  HOST_SCRIPTS_DIR,
  localCommand,
  REPO_ROOT,
  remoteCommand,
  repoPath,
  scriptText,
  shellQuote,
} from "./runner";
