// The JSON Schema of a `Pulumi.<stack>.yaml` file, generated from the zod schema, so
// editors validate stack files (`npm run schema` writes schema/stack-config.schema.json).
import { z } from "zod";
import { configSchema, NAMESPACE, SECRET_DESCRIPTIONS, SECRET_KEYS } from "./schema";

/**
 * JSON Schema of a `Pulumi.<stack>.yaml` file: `config:` holds the `flotilla:` keys
 * (validated by the zod schema's input shape), secrets in Pulumi's `secure:` form, and
 * other namespaces' provider keys (`openstack:*`, `docker:*`) untouched.
 */
export function stackFileJsonSchema(): Record<string, unknown> {
  const inner = z.toJSONSchema(configSchema, { io: "input", target: "draft-2020-12" }) as {
    properties: Record<string, unknown>;
    $schema?: string;
  };
  const properties: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(inner.properties)) properties[`${NAMESPACE}:${key}`] = value;
  for (const key of SECRET_KEYS) {
    properties[`${NAMESPACE}:${key}`] = {
      description: `Secret (set with \`pulumi config set --secret\`): ${SECRET_DESCRIPTIONS[key]}`,
      anyOf: [
        { type: "string" },
        {
          type: "object",
          properties: { secure: { type: "string" } },
          required: ["secure"],
          additionalProperties: false,
        },
      ],
    };
  }
  return {
    $schema: "https://json-schema.org/draft/2020-12/schema",
    $id: "https://flotilla.dev/schema/stack-config.json",
    title: "Flotilla Pulumi stack file",
    type: "object",
    properties: {
      secretsprovider: { type: "string" },
      encryptedkey: { type: "string" },
      encryptionsalt: { type: "string" },
      config: {
        type: "object",
        properties,
        // Keys of other namespaces (provider settings) are allowed; unknown flotilla: keys are not.
        patternProperties: { "^(?!flotilla:)[A-Za-z0-9_-]+:.+$": {} },
        additionalProperties: false,
      },
    },
    additionalProperties: false,
  };
}
