// Flotilla: a highly available web application on Docker Swarm, from one typed
// configuration per stack. This file only wires the top-level components.
import * as pulumi from "@pulumi/pulumi";
import { loadConfig } from "./components/loadConfig";
import { LocalSwarm } from "./components/localSwarm";
import { Secrets } from "./components/secrets";

const { config, secrets: providedSecrets } = loadConfig();

const secrets = new Secrets("flotilla", { provided: providedSecrets });

let publicHost: pulumi.Output<string>;
let bastion: pulumi.Output<string> | undefined;
if (config.target === "local") {
  new LocalSwarm("flotilla");
  publicHost = pulumi.output("localhost");
} else {
  publicHost = pulumi.output("vip.pending");
  bastion = undefined;
}

/** Where customers reach the webapp. */
export const publicUrl = pulumi.interpolate`http://${publicHost}:${config.haproxy.httpPort}/`;
/** HAProxy stats page (admin CIDRs only; user `haproxy.statsUser`, password `statsPassword`). */
export const statsUrl = pulumi.interpolate`http://${publicHost}:${config.haproxy.statsPort}/stats`;
/** The bastion's public address (OpenStack only). */
export const bastionAddress = bastion;
/** The HAProxy stats password, for the operator (`pulumi stack output --show-secrets statsPassword`). */
export const statsPassword = secrets.statsPassword;
