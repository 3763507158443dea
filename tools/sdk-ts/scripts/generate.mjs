// Generates src/generated/<service>.ts from openapi/<service>.yaml with openapi-typescript.
import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import path from "node:path";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");
const bin = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../node_modules/.bin/openapi-typescript");
for (const service of ["oauth-clients", "iam-subjects", "iam-policies", "consent"]) {
  execFileSync(bin, [
    path.join(root, "openapi", `${service}.yaml`),
    "--output", path.join(root, "tools/sdk-ts/src/generated", `${service}.ts`),
  ], { stdio: ["ignore", "ignore", "inherit"], env: { ...process.env, REDOCLY_TELEMETRY: "off" } });
}
