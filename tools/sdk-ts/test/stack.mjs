// The real dev stack (tools/cmd/iam-dev) for the SDK's tests, on a free port with its own
// data directory and a private PostgreSQL cluster, removed by stop().
import { spawn, execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, chmodSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");

export const freePort = () => new Promise((resolve) => {
  const srv = createServer().listen(0, "127.0.0.1", () => { const { port } = srv.address(); srv.close(() => resolve(port)); });
});

/** Starts the dev stack with admin as its bootstrap client; resolves to { baseUrl, stop }. */
export async function startStack(admin) {
  const dir = mkdtempSync(path.join(tmpdir(), "iam-sdk-"));
  chmodSync(dir, 0o755); // the private PostgreSQL runs as the postgres user when we are root
  const bin = path.join(dir, "iam-dev");
  execFileSync("go", ["build", "-o", bin, "./tools/cmd/iam-dev"], { cwd: root, stdio: "inherit" });
  const port = await freePort();
  const child = spawn(bin, [], {
    cwd: dir,
    env: { ...process.env, IAM_DEV_PORT: String(port), IAM_DEV_DIR: path.join(dir, "data"), IAM_BOOTSTRAP_CLIENT_ID: admin.clientId,
      IAM_BOOTSTRAP_CLIENT_SECRET: admin.clientSecret, LOG_LEVEL: "error", DATABASE_URL: "", IAM_DEV_DEMO_PORT: "0",
      // A cluster of its own in dir, removed afterwards: never the machine's server, whose
      // iam_* databases a developer's `make dev` keeps.
      IAM_DEV_POSTGRES: "private" },
    stdio: ["ignore", "pipe", "inherit"],
  });
  const stop = async () => {
    if (child.exitCode === null) {
      const exited = new Promise((resolve) => child.on("exit", resolve));
      child.kill("SIGINT");
      await exited;
    }
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const baseUrl = await new Promise((resolve, reject) => {
      let out = "";
      const timer = setTimeout(() => reject(new Error("dev stack did not start in 90s: " + out)), 90_000);
      child.stdout.on("data", (chunk) => {
        out += chunk;
        const m = out.match(/IAM platform running at (http:\/\/\S+)/);
        if (m) { clearTimeout(timer); resolve(m[1]); }
      });
      child.on("exit", (code) => reject(new Error(`dev stack exited with ${code}: ${out}`)));
    });
    return { baseUrl, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
