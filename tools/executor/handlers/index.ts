// The resource types the rehearsal executor performs: each provider's create, and its
// update and delete where the provider has one that does something. random and tls have
// neither: their update only writes state (every other change replaces them) and their
// delete removes nothing. The decision between them is rules.ts and diff.ts.
import type { ResourceHandler } from "../types";
import { dockerContainer } from "./dockerContainer";
import { dockerImage } from "./dockerImage";
import { dockerNetwork } from "./dockerNetwork";
import { dockerVolume } from "./dockerVolume";
import { localCommand } from "./localCommand";
import { randomBytesHandler, randomId, randomPassword, randomUuid } from "./random";
import { remoteCommand } from "./remoteCommand";
import { tlsPrivateKey } from "./tlsPrivateKey";
import { tlsSelfSignedCert } from "./tlsSelfSignedCert";

export const HANDLERS: Readonly<Record<string, ResourceHandler>> = {
  "random:index/randomPassword:RandomPassword": { create: randomPassword },
  "random:index/randomBytes:RandomBytes": { create: randomBytesHandler },
  "random:index/randomUuid:RandomUuid": { create: randomUuid },
  "random:index/randomId:RandomId": { create: randomId },
  "tls:index/privateKey:PrivateKey": { create: tlsPrivateKey },
  "tls:index/selfSignedCert:SelfSignedCert": { create: tlsSelfSignedCert },
  "command:local:Command": localCommand,
  "command:remote:Command": remoteCommand,
  "docker:index/image:Image": dockerImage,
  "docker:index/network:Network": dockerNetwork,
  "docker:index/volume:Volume": dockerVolume,
  "docker:index/container:Container": dockerContainer,
};
