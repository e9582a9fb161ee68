// What each provider does with a changed input, per resource type: the table the pure
// decision (diff.ts) reads. Every row is taken from the provider's own source at the
// version the lockfile pins (cited per type); nothing here is run. Key names are the
// Pulumi SDK's (camelCase, lists pluralised as the bridge names them).
//
// Sources (bare git mirrors under /work/.mirror, read with `git show <rev>:<path>`):
//  - pulumi-command v1.2.1 (provider/pkg/provider/{local,remote}/commandController.go,
//    common/inputs.go) on pulumi-go-provider v1.3.0 (infer/resource.go);
//  - pulumi-docker at 237b7899 (native Image: provider/provider.go; bridged resources:
//    provider/resources.go) over kreuzwerker/terraform-provider-docker v4.5.0
//    (internal/provider/resource_docker_{container,network,volume}.go);
//  - hashicorp/terraform-provider-random ad788e23 (v3.9.0+4) and
//    terraform-provider-tls d72d90e1 (v4.2.1+23), internal/provider/*;
//  - pulumi-openstack v3.15.2 (provider/resources.go) over terraform-provider-openstack
//    v1.54.1 (openstack/resource_openstack_*.go);
//  - pulumi-terraform-bridge HEAD: pkg/tfbridge/provider.go:1276 and schema.go:195
//    (SDKv2 resources: delete-before-replace when the resource asks for it, or when an
//    auto-named `name` was given explicitly), pkg/pf/tfbridge/provider_diff.go:114
//    (plugin-framework resources: only when the resource asks for it).

/** How one input key behaves when it changes. */
export interface KeyRule {
  /** A change forces a replacement (TF ForceNew / RequiresReplace). */
  replace?: boolean;
  /** Optional+Computed in the TF schema: leaving it out keeps the stored value (no diff). */
  computed?: boolean;
  /** A TF set: order does not matter (arrays inside it are compared sorted too). */
  set?: boolean;
  /** The schema default, used when the input is left out. */
  default?: unknown;
  /** What the provider's Update does for this key when only in-place keys changed. */
  inPlace?: string;
  /** Source line of the row. */
  at?: string;
}

export type DbrRule = "always" | "explicit-name" | "never";

export interface TypeRule {
  /** Which diff the provider runs. `command`: the go-provider's default diff (every change an update; only a whole top-level `triggers` add/delete is a provider replace). */
  kind: "command" | "docker-image" | "terraform";
  keys: Record<string, KeyRule>;
  /** Keys not in the table. */
  otherKeys: "replace" | "update";
  /** When the provider asks for delete-before-replace. */
  deleteBeforeReplace: DbrRule;
  /** In-place update with no key rule saying what it does: this text. */
  updateDoes: string;
  /** What the provider's Delete does (for the step record and the docs). */
  deleteDoes: string;
  source: string;
}

const DOCKER_C = "terraform-provider-docker v4.5.0 internal/provider/resource_docker_container.go";
const DOCKER_N = "terraform-provider-docker v4.5.0 internal/provider/resource_docker_network.go";
const DOCKER_V = "terraform-provider-docker v4.5.0 internal/provider/resource_docker_volume.go";
const OS_I = "terraform-provider-openstack v1.54.1 openstack/resource_openstack_compute_instance_v2.go";

const fn = (line: number, extra: Partial<KeyRule> = {}): KeyRule => ({
  replace: true,
  at: `:${line}`,
  ...extra,
});
const inPlace = (line: number, does: string, extra: Partial<KeyRule> = {}): KeyRule => ({
  inPlace: does,
  at: `:${line}`,
  ...extra,
});
/** Kept in state only: the provider's Update does nothing with it. */
const stateOnly = (line: number, extra: Partial<KeyRule> = {}): KeyRule =>
  inPlace(line, "state only (the provider's Update does nothing with it)", extra);

/** `docker update` (resource_docker_container_funcs.go:1015-1019: ContainerUpdate with restart policy and resources). */
const DOCKER_UPDATE = "docker update (ContainerUpdate, resource_docker_container_funcs.go:1015)";

const COMMAND: TypeRule = {
  kind: "command",
  keys: {
    // common/inputs.go:10 `provider:"replaceOnChanges"`: the provider forces a replace only when
    // the diff key is exactly `triggers` (infer/resource.go:1141-1146,1228), i.e. the whole list
    // added or removed; a changed element is replaced by the SDK's replaceOnChanges
    // ["triggers[*]"] (local/command.js:155, remote/command.js:132), which the executor
    // captures from the registration like any other option.
    triggers: { replace: true, at: "common/inputs.go:10" },
  },
  otherKeys: "update",
  // infer/resource.go:1248 "TODO: how should we set this? DeleteBeforeReplace: ???": never.
  deleteBeforeReplace: "never",
  updateDoes: "runs `update`, or `create` when `update` is unset (commandController.go:67-91)",
  deleteDoes: "runs the stored `delete` with the stored inputs (commandController.go:93)",
  source: "pulumi-command v1.2.1 provider/pkg/provider/local/commandController.go, go-provider v1.3.0",
};

const RANDOM_SOURCE =
  "terraform-provider-random internal/provider/resource_*.go (every input RequiresReplace)";

/** random_*: every input RequiresReplace (resource_password.go:576-715); PF resources never ask for delete-first. */
function randomRule(defaults: Record<string, unknown>): TypeRule {
  return {
    kind: "terraform",
    keys: Object.fromEntries(Object.entries(defaults).map(([k, d]) => [k, { replace: true, default: d }])),
    otherKeys: "replace",
    deleteBeforeReplace: "never",
    updateDoes: "state only",
    deleteDoes: "nothing (removed from state)",
    source: RANDOM_SOURCE,
  };
}

export const RULES: Readonly<Record<string, TypeRule>> = {
  "command:local:Command": COMMAND,
  "command:remote:Command": {
    ...COMMAND,
    source: "pulumi-command v1.2.1 provider/pkg/provider/remote/commandController.go, go-provider v1.3.0",
    updateDoes:
      "runs `update` ?? `create` over SSH with the NEW connection (remote/commandController.go:63-84)",
    deleteDoes:
      "runs the stored `delete` over SSH with the STORED connection (remote/commandController.go:86)",
  },

  // Native resource: Diff (provider.go:271) reports every changed key as an UPDATE (diffUpdates
  // :330; registry username/password alone are ignored); no ReplaceKeys ever. Check (:128)
  // adds build.contextDigest (hashContext :606, bytes and modes of every file not in
  // .dockerignore), build.platform (the host's) and the dockerfile path. Update (:428)
  // builds and pushes again; Delete (:490) does nothing.
  "docker:index/image:Image": {
    kind: "docker-image",
    keys: {},
    otherKeys: "update",
    deleteBeforeReplace: "never",
    updateDoes: "docker build + push again (provider.go:428)",
    deleteDoes: "nothing (provider.go:490)",
    source: "pulumi-docker 237b7899 provider/provider.go",
  },

  "docker:index/container:Container": {
    kind: "terraform",
    keys: {
      name: fn(50),
      rm: stateOnly(57, { default: false }),
      readOnly: fn(64, { default: false }),
      start: stateOnly(72, { default: true }),
      wait: stateOnly(79, { default: false }),
      waitTimeout: stateOnly(86, { default: 60 }),
      attach: stateOnly(93, { default: false }),
      logs: stateOnly(100, { default: false }),
      mustRun: inPlace(122, "starts the container when it goes from false to true (funcs.go:997)", {
        default: true,
      }),
      image: fn(141),
      hostname: fn(148, { computed: true }),
      domainname: fn(156),
      command: fn(163, { computed: true }),
      entrypoints: fn(172, { computed: true }),
      user: fn(181),
      dns: fn(196, { set: true }),
      dnsOpts: fn(205, { set: true }),
      dnsSearches: fn(214, { set: true }),
      publishAllPorts: fn(223),
      restart: inPlace(230, DOCKER_UPDATE, { default: "no" }),
      maxRetryCount: inPlace(238, DOCKER_UPDATE),
      workingDir: fn(243),
      removeVolumes: stateOnly(256, { default: true }),
      capabilities: fn(262, { set: true }),
      securityOpts: fn(291, { set: true, computed: true }),
      runtime: fn(300, { computed: true }),
      platform: fn(307, { computed: true }),
      stopSignal: fn(314, { computed: true }),
      stopTimeout: fn(321, { computed: true }),
      mounts: fn(328, { set: true }),
      volumes: fn(434, { set: true }),
      tmpfs: stateOnly(482),
      ports: fn(487),
      hosts: fn(537, { set: true }),
      ulimits: fn(561, { set: true }),
      envs: fn(590, { set: true, computed: true }),
      privileged: fn(656),
      devices: fn(663, { set: true }),
      deviceReadBps: inPlace(693, DOCKER_UPDATE, { set: true }),
      deviceReadIops: inPlace(713, DOCKER_UPDATE, { set: true }),
      deviceWriteBps: inPlace(733, DOCKER_UPDATE, { set: true }),
      deviceWriteIops: inPlace(753, DOCKER_UPDATE, { set: true }),
      deviceRequests: fn(774, { set: true }),
      destroyGraceSeconds: stateOnly(827),
      labels: fn(833, { set: true, computed: true }),
      memory: inPlace(842, DOCKER_UPDATE),
      memoryReservation: inPlace(848, DOCKER_UPDATE, { default: 0 }),
      memorySwap: inPlace(856, DOCKER_UPDATE),
      shmSize: fn(863, { computed: true }),
      cpuShares: inPlace(872, DOCKER_UPDATE),
      cpuSet: inPlace(879, DOCKER_UPDATE),
      logDriver: fn(886, { computed: true }),
      logOpts: fn(894),
      networkMode: fn(901, { default: "bridge" }),
      networksAdvanced: fn(909, { set: true }),
      pidMode: fn(974),
      usernsMode: fn(980),
      uploads: fn(987, { set: true }),
      // Not ForceNew and not in Update's list: a changed health check is only written to state.
      healthcheck: stateOnly(1045, { computed: true }),
      containerReadRefreshTimeoutMilliseconds: stateOnly(1098),
      sysctls: fn(1105),
      ipcMode: fn(1111, { computed: true }),
      groupAdds: fn(1118, { set: true }),
      init: stateOnly(1126, { computed: true }),
      tty: fn(1132, { default: false }),
      stdinOpen: fn(1139, { default: false }),
      storageOpts: fn(1146),
      gpus: fn(1152),
      cpus: fn(1158),
      cpuPeriod: stateOnly(1164),
      cpuQuota: stateOnly(1170),
      cgroupnsMode: fn(1176),
      cgroupParent: fn(1182),
    },
    // A key newer than v4.5.0's schema: assume force-new, the common case in this resource.
    otherKeys: "replace",
    // pulumi-docker provider/resources.go:114 `DeleteBeforeReplace: true`.
    deleteBeforeReplace: "always",
    updateDoes: "state only",
    deleteDoes:
      "ContainerStop with timeout destroyGraceSeconds (0 when unset: SIGKILL at once), then ContainerRemove force, volumes when removeVolumes (default true) (funcs.go:1079-1110)",
    source: DOCKER_C,
  },

  "docker:index/network:Network": {
    kind: "terraform",
    keys: {
      name: fn(25),
      labels: fn(32, { set: true }),
      driver: fn(40, { computed: true }),
      options: fn(48, { computed: true }),
      internal: fn(56, { computed: true }),
      attachable: fn(64),
      ingress: fn(71),
      ipv6: fn(78),
      ipamDriver: fn(85, { default: "default" }),
      ipamOptions: fn(92),
      ipamConfigs: fn(99, { set: true, computed: true }),
    },
    otherKeys: "replace",
    // name is auto-named (pulumi-docker resources.go:404 SetAutonaming): an explicit name
    // makes the bridge ask for delete-first (tfbridge/schema.go:195).
    deleteBeforeReplace: "explicit-name",
    updateDoes: "state only",
    deleteDoes:
      "NetworkRemove, retried while it has active endpoints (resource_docker_network_funcs.go:110,205)",
    source: DOCKER_N,
  },

  "docker:index/volume:Volume": {
    kind: "terraform",
    keys: {
      name: fn(41, { computed: true }),
      labels: fn(48, { set: true }),
      driver: fn(55, { computed: true }),
      driverOpts: fn(62),
      cluster: inPlace(73, "VolumeUpdate of cluster.availability (resource_docker_volume.go:388)"),
    },
    otherKeys: "replace",
    deleteBeforeReplace: "explicit-name",
    updateDoes: "state only",
    deleteDoes: "VolumeRemove, retried while in use (resource_docker_volume.go:362): the data is gone",
    source: DOCKER_V,
  },

  "random:index/randomPassword:RandomPassword": {
    ...randomRule({
      keepers: undefined,
      length: undefined,
      special: true,
      upper: true,
      lower: true,
      numeric: true,
      number: true,
      minUpper: 0,
      minLower: 0,
      minNumeric: 0,
      minSpecial: 0,
      overrideSpecial: undefined,
    }),
  },
  "random:index/randomBytes:RandomBytes": randomRule({ keepers: undefined, length: undefined }),
  "random:index/randomUuid:RandomUuid": randomRule({ keepers: undefined }),
  "random:index/randomId:RandomId": randomRule({
    keepers: undefined,
    byteLength: undefined,
    prefix: undefined,
  }),

  "tls:index/privateKey:PrivateKey": {
    kind: "terraform",
    keys: {
      algorithm: { replace: true, at: "resource_private_key.go:57" },
      rsaBits: { replace: true, default: 2048, at: "resource_private_key.go:70" },
      ecdsaCurve: { replace: true, default: "P224", at: "resource_private_key.go:79" },
    },
    otherKeys: "replace",
    deleteBeforeReplace: "never",
    updateDoes: "state only",
    deleteDoes: "nothing (removed from state)",
    source: "terraform-provider-tls internal/provider/resource_private_key.go",
  },

  // Every input RequiresReplace except early_renewal_hours (:127, updated in state); and
  // ModifyPlan (:480 → common_cert.go:268) replaces a certificate whose
  // validity_end_time − early_renewal_hours has passed at plan time ("ready_for_renewal").
  "tls:index/selfSignedCert:SelfSignedCert": {
    kind: "terraform",
    keys: {
      privateKeyPem: {
        replace: true,
        at: "resource_self_signed_cert.go:52 (requireReplaceIfStateContainsPEMString)",
      },
      validityPeriodHours: { replace: true, at: "resource_self_signed_cert.go:63" },
      allowedUses: { replace: true, at: "resource_self_signed_cert.go:73" },
      dnsNames: { replace: true, at: "resource_self_signed_cert.go:93" },
      ipAddresses: { replace: true, at: "resource_self_signed_cert.go:101" },
      uris: { replace: true, at: "resource_self_signed_cert.go:114" },
      earlyRenewalHours: {
        inPlace: "state only",
        default: 0,
        at: "resource_self_signed_cert.go:127",
      },
      isCaCertificate: { replace: true, default: false, at: "resource_self_signed_cert.go:142" },
      maxPathLength: { replace: true, default: 0, at: "resource_self_signed_cert.go:151" },
      setSubjectKeyId: { replace: true, default: false, at: "resource_self_signed_cert.go:164" },
      setAuthorityKeyId: { replace: true, default: false, at: "resource_self_signed_cert.go:174" },
      subject: { replace: true, at: "resource_self_signed_cert.go:241" },
    },
    otherKeys: "replace",
    deleteBeforeReplace: "never",
    updateDoes: "state only",
    deleteDoes: "nothing (removed from state)",
    source: "terraform-provider-tls internal/provider/resource_self_signed_cert.go, common_cert.go:268",
  },

  // Never performed by the executor; here for the decision function's callers.
  "openstack:compute/instance:Instance": {
    kind: "terraform",
    keys: {
      region: fn(56, { computed: true }),
      name: inPlace(63, "renamed in place (servers.Update)"),
      imageId: inPlace(
        68,
        "Nova REBUILD in place (funcs :1065-1093): same ID, root disk wiped, no trigger fires",
        { computed: true },
      ),
      imageName: inPlace(
        73,
        "Nova REBUILD in place (:1065-1093): same ID, root disk wiped, no trigger fires",
        { computed: true },
      ),
      // CustomizeDiff (:452-461) forces a new instance only when the old flavor reads "".
      flavorId: inPlace(78, "Nova RESIZE in place (:979-1044): same ID, a reboot", { computed: true }),
      flavorName: inPlace(84, "Nova RESIZE in place (:979-1044): same ID, a reboot", { computed: true }),
      floatingIp: inPlace(90, "floating IP re-associated"),
      userData: fn(96),
      securityGroups: inPlace(111, "security groups added/removed on the server", {
        set: true,
        computed: true,
      }),
      availabilityZoneHints: fn(119),
      availabilityZone: fn(125, { computed: true }),
      networkMode: fn(133),
      networks: fn(143, { computed: true }),
      metadata: inPlace(198, "metadata updated"),
      configDrive: fn(203),
      adminPass: inPlace(208, "admin password changed"),
      accessIpV4: inPlace(214, "state only", { computed: true }),
      accessIpV6: inPlace(220, "state only", { computed: true }),
      keyPair: fn(226),
      blockDevices: fn(231, { at: ":231 (nested fields ForceNew)" }),
      volumes: inPlace(296, "volumes attached/detached", { set: true }),
      schedulerHints: fn(319, { set: true, at: ":319 (nested fields ForceNew)" }),
      personalities: inPlace(372, "Nova REBUILD in place (:1065)", { set: true }),
      stopBeforeDestroy: stateOnly(389, { default: false }),
      forceDelete: stateOnly(394, { default: false }),
      powerState: inPlace(403, "server started/stopped/shelved", { default: "active" }),
      tags: inPlace(413, "tags replaced", { set: true }),
      vendorOptions: stateOnly(423),
    },
    otherKeys: "update",
    // pulumi-openstack v3.15.2 provider/resources.go:459 SetAutonaming: `name` is auto-named,
    // so an explicit name makes the bridge ask for delete-first (tfbridge/schema.go:195).
    deleteBeforeReplace: "explicit-name",
    updateDoes: "state only",
    deleteDoes: "the server and its root disk deleted",
    source: OS_I,
  },
  "openstack:compute/keypair:Keypair": {
    kind: "terraform",
    keys: {
      region: fn(23, { computed: true }),
      name: fn(30),
      publicKey: fn(36, { computed: true }),
      valueSpecs: fn(43),
      userId: fn(61, { computed: true }),
    },
    otherKeys: "replace",
    deleteBeforeReplace: "explicit-name",
    updateDoes: "state only",
    deleteDoes: "the key pair deleted",
    source: "terraform-provider-openstack v1.54.1 openstack/resource_openstack_compute_keypair_v2.go",
  },
  "openstack:compute/volumeAttach:VolumeAttach": {
    kind: "terraform",
    keys: {
      region: fn(32, { computed: true }),
      instanceId: fn(39),
      volumeId: fn(45),
      // Optional and computed, not ForceNew: the device Nova reports.
      device: stateOnly(51, { computed: true }),
      multiattach: fn(57),
      vendorOptions: fn(63),
    },
    otherKeys: "replace",
    // No `name`: create-first unless the program says otherwise (Flotilla's does: a volume
    // attaches to one VM at a time).
    deleteBeforeReplace: "never",
    updateDoes: "state only",
    deleteDoes: "the volume detached from the server",
    source:
      "terraform-provider-openstack v1.54.1 openstack/resource_openstack_compute_volume_attach_v2.go (every argument ForceNew)",
  },
  "openstack:networking/secGroupRule:SecGroupRule": {
    kind: "terraform",
    keys: {
      region: fn(30, { computed: true }),
      description: fn(37),
      direction: fn(44),
      ethertype: fn(50),
      portRangeMin: fn(56, { computed: true }),
      portRangeMax: fn(63, { computed: true }),
      protocol: fn(70, { computed: true }),
      remoteGroupId: fn(77, { computed: true }),
      remoteIpPrefix: fn(84, { computed: true }),
      securityGroupId: fn(94),
      tenantId: fn(100, { computed: true }),
    },
    otherKeys: "replace",
    // No `name` input: replaced create-first (Neutron refuses the duplicate rule).
    deleteBeforeReplace: "never",
    updateDoes: "state only",
    deleteDoes: "the rule deleted",
    source:
      "terraform-provider-openstack v1.54.1 openstack/resource_openstack_networking_secgroup_rule_v2.go",
  },
};

/** The rule of a type, or undefined for a type nobody described (the caller refuses it). */
export function ruleOf(type: string): TypeRule | undefined {
  return RULES[type];
}
