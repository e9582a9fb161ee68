// The `local` target: the developer's Docker engine as a one-node Swarm.
export { LocalSwarm, type LocalSwarmArgs } from "./localSwarm";
