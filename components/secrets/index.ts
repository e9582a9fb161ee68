// Every password and key the stacks need, as Pulumi secrets (set or generated).
export { Secrets, type SecretsArgs } from "./secrets";
