// The resource types the rehearsal executor performs, one handler each.
import type { Handler } from "../types";
import { dockerContainer } from "./dockerContainer";
import { dockerImage } from "./dockerImage";
import { dockerNetwork } from "./dockerNetwork";
import { dockerVolume } from "./dockerVolume";
import { localCommand } from "./localCommand";
import { randomBytesHandler, randomId, randomPassword, randomUuid } from "./random";
import { remoteCommand } from "./remoteCommand";
import { tlsPrivateKey } from "./tlsPrivateKey";
import { tlsSelfSignedCert } from "./tlsSelfSignedCert";

export const HANDLERS: Readonly<Record<string, Handler>> = {
  "random:index/randomPassword:RandomPassword": randomPassword,
  "random:index/randomBytes:RandomBytes": randomBytesHandler,
  "random:index/randomUuid:RandomUuid": randomUuid,
  "random:index/randomId:RandomId": randomId,
  "tls:index/privateKey:PrivateKey": tlsPrivateKey,
  "tls:index/selfSignedCert:SelfSignedCert": tlsSelfSignedCert,
  "command:local:Command": localCommand,
  "command:remote:Command": remoteCommand,
  "docker:index/image:Image": dockerImage,
  "docker:index/network:Network": dockerNetwork,
  "docker:index/volume:Volume": dockerVolume,
  "docker:index/container:Container": dockerContainer,
};
