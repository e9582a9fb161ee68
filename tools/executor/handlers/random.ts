// random:index/* — generated with node:crypto's CSPRNG, with the provider's inputs and outputs.
import { randomBytes, randomInt, randomUUID } from "node:crypto";
import { type Handler, input, requireInput } from "../types";

/** The random provider's default special characters (`overrideSpecial` replaces them). */
export const DEFAULT_SPECIAL = "!@#$%&*()-_=+[]{}<>:?";

/** A password as random_password makes it: the minimum of each class first, the rest from all enabled classes, shuffled. */
export function generatePassword(inputs: Record<string, unknown>): string {
  const length = requireInput(inputs, "length", "number");
  if (!Number.isInteger(length) || length < 1)
    throw new Error(`input 'length': expected a positive integer, got ${length}`);
  const classes = [
    { on: input(inputs, "upper", "boolean") ?? true, chars: "ABCDEFGHIJKLMNOPQRSTUVWXYZ", min: "minUpper" },
    { on: input(inputs, "lower", "boolean") ?? true, chars: "abcdefghijklmnopqrstuvwxyz", min: "minLower" },
    {
      on: input(inputs, "numeric", "boolean") ?? input(inputs, "number", "boolean") ?? true,
      chars: "0123456789",
      min: "minNumeric",
    },
    {
      on: input(inputs, "special", "boolean") ?? true,
      chars: input(inputs, "overrideSpecial", "string") ?? DEFAULT_SPECIAL,
      min: "minSpecial",
    },
  ];
  const chosen: string[] = [];
  let all = "";
  for (const c of classes) {
    const min = input(inputs, c.min, "number") ?? 0;
    if (min < 0 || !Number.isInteger(min))
      throw new Error(`input '${c.min}': expected a non-negative integer`);
    if (min > 0 && (!c.on || c.chars.length === 0))
      throw new Error(`input '${c.min}' is ${min} but that character class is disabled or empty`);
    if (!c.on) continue;
    all += c.chars;
    for (let i = 0; i < min; i++) chosen.push(c.chars[randomInt(c.chars.length)]);
  }
  if (all.length === 0) throw new Error("every character class is disabled: no characters to choose from");
  if (chosen.length > length)
    throw new Error(`input 'length' (${length}) is less than the sum of the min* inputs (${chosen.length})`);
  while (chosen.length < length) chosen.push(all[randomInt(all.length)]);
  for (let i = chosen.length - 1; i > 0; i--) {
    const j = randomInt(i + 1);
    [chosen[i], chosen[j]] = [chosen[j], chosen[i]];
  }
  return chosen.join("");
}

export const randomPassword: Handler = async (inputs) => ({
  id: "none",
  // bcryptHash is not produced (node:crypto has no bcrypt); nothing in Flotilla reads it.
  outputs: { result: generatePassword(inputs) },
  secretOutputs: ["result"],
});

function byteLength(inputs: Record<string, unknown>, key: string): number {
  const n = requireInput(inputs, key, "number");
  if (!Number.isInteger(n) || n < 1) throw new Error(`input '${key}': expected a positive integer, got ${n}`);
  return n;
}

export const randomBytesHandler: Handler = async (inputs) => {
  const bytes = randomBytes(byteLength(inputs, "length"));
  return {
    id: "none",
    outputs: { base64: bytes.toString("base64"), hex: bytes.toString("hex") },
    secretOutputs: ["base64", "hex"],
  };
};

export const randomUuid: Handler = async () => {
  const result = randomUUID();
  return { id: result, outputs: { result } };
};

export const randomId: Handler = async (inputs) => {
  const bytes = randomBytes(byteLength(inputs, "byteLength"));
  const prefix = input(inputs, "prefix", "string") ?? "";
  const b64Url = bytes.toString("base64url");
  return {
    id: b64Url,
    outputs: {
      b64Url: prefix + b64Url,
      b64Std: prefix + bytes.toString("base64"),
      hex: prefix + bytes.toString("hex"),
      dec: prefix + BigInt(`0x${bytes.toString("hex")}`).toString(10),
    },
  };
};
