// Every password and key the stacks need, as Pulumi secrets (set or generated), and
// HAProxy's TLS certificate (the operator's or self-signed).
export {
  describeCertificate,
  EdgeCertificate,
  type EdgeCertificateArgs,
  haproxyPem,
  SELF_SIGNED_EARLY_RENEWAL_HOURS,
  SELF_SIGNED_VALIDITY_HOURS,
  subjectAltNames,
} from "./edgeCertificate";
export { Secrets, type SecretsArgs, UNSET_ALERT_SECRET } from "./secrets";
