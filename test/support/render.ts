// What a render test gives the renderer besides the config and the images: each secret's
// Docker name, derived as the program derives it (content-hashed) from a stand-in value.
import { SECRET_TARGETS, type SecretTarget, secretName } from "../../components/stacks";

/** The key the stand-in secret names are derived with. */
export const TEST_NAME_KEY = "test-secret-name-key-0123456789abcdef";

/** Every secret target's Docker secret name for the value `value-of-<target>`. */
export function testSecretNames(prefix = "flotilla"): Record<SecretTarget, string> {
  return Object.fromEntries(
    SECRET_TARGETS.map((t) => [t, secretName(prefix, t, `value-of-${t}`, TEST_NAME_KEY)]),
  ) as Record<SecretTarget, string>;
}
