// The import rules of the code base, checked by dependency-cruiser in the unit tests
// (test/layout.test.ts): no cycles; each components/ folder is used through its index.ts
// only; imports flow one way (index.ts wiring -> targets and stacks -> swarm -> config).
// Paths may sit under a prefix (the test's fixtures do), hence `(?:^|/)`.
const C = "(?:^|/)components/";
/** A rule: folder `from` may import, of the other folders, only `allowed`. */
const onlyImports = (from, allowed) => ({
  name: `${from}-imports-only-${allowed.length ? allowed.join("-") : "itself"}`,
  comment: `components/${from} may import only ${allowed.length ? allowed.map((f) => `components/${f}`).join(", ") : "its own files"} (imports flow one way)`,
  severity: "error",
  from: { path: `${C}${from}/` },
  to: { path: `${C}[^/]+/`, pathNot: [`${C}(?:${[from, ...allowed].join("|")})/`] },
});

module.exports = {
  forbidden: [
    {
      name: "no-circular",
      comment: "An import cycle: split the module or move the shared part down a layer.",
      severity: "error",
      from: {},
      to: { circular: true },
    },
    {
      name: "folder-internals-through-index",
      comment: "Another components/ folder's module is imported directly: import its index.ts.",
      severity: "error",
      from: { path: `${C}([^/]+)/` },
      to: { path: `${C}[^/]+/`, pathNot: [`${C}$1/`, `${C}[^/]+/index\\.ts$`] },
    },
    {
      name: "outside-through-index",
      comment: "The program, scripts and policies use a components/ folder through its index.ts.",
      severity: "error",
      from: { path: "^(?:index\\.ts$|scripts/|policy/)" },
      to: { path: `${C}[^/]+/`, pathNot: [`${C}[^/]+/index\\.ts$`] },
    },
    {
      name: "nothing-imports-the-wiring",
      comment: "index.ts wires the program; nothing imports it.",
      severity: "error",
      from: { path: `${C}` },
      to: { path: "^index\\.ts$" },
    },
    onlyImports("config", []),
    onlyImports("repo", []),
    onlyImports("secrets", ["config"]),
    // images: a target's registry is a swarm-level type (ClusterTarget.registry).
    onlyImports("images", ["config", "repo", "swarm"]),
    onlyImports("swarm", ["config", "repo"]),
    onlyImports("stacks", ["config", "repo", "images", "swarm"]),
    onlyImports("local", ["config", "repo", "swarm"]),
    onlyImports("openstack", ["config", "repo", "swarm"]),
    onlyImports("lab", ["config", "repo", "swarm", "images"]),
    {
      name: "planners-stay-pure",
      comment: "Pure planners and renderers are unit-tested without mocks: no Pulumi imports.",
      severity: "error",
      from: {
        path: `${C}(?:config/(?:schema|parse|jsonSchema)|stacks/(?:catalog|deploy|names|render|renderers|types)|swarm/(?:plan|cloudInit|scripts)|openstack/(?:plan|capacity)|images/catalog|repo/)`,
      },
      to: { path: "@pulumi/" },
    },
  ],
  options: {
    doNotFollow: { path: "node_modules" },
    // Type-only imports count too: a cycle of types is still a knot for the reader.
    tsPreCompilationDeps: true,
    tsConfig: { fileName: "tsconfig.json" },
    enhancedResolveOptions: { extensions: [".ts", ".js", ".json"] },
  },
};
