// The `lab` target: the helion topology rehearsed on this machine's Docker engine, each
// node a container that boots like a VM. The address plan and the VM run spec are pure.
export { LabCluster, type LabClusterArgs } from "./labCluster";
export { LAB_MAX_NODES, type LabAddressPlan, planLabAddresses } from "./plan";
export {
  type ArchiveFile,
  type ContainerSpec,
  dockerCreateArgs,
  dockerRunSteps,
  LAB_VM_SHUTDOWN_SECONDS,
  LAB_VM_STOP_SIGNAL,
  type LabVmSpec,
  labVmSpec,
  NOCLOUD_SEED_DIR,
  renderMetaData,
  uploadArchive,
} from "./vm";
