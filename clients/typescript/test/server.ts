// Starts a live voxgate for the tests (or uses VOXGATE_ADDR), as the conformance brief asks.
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, openSync, closeSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";

/** The repository root: the nearest folder above this file with proto/voxgate/v1. */
export function repoRoot(): string {
  let dir = __dirname;
  for (;;) {
    if (existsSync(path.join(dir, "proto", "voxgate", "v1"))) return dir;
    const up = path.dirname(dir);
    if (up === dir) throw new Error(`no repository root above ${__dirname}`);
    dir = up;
  }
}

export interface LiveServer {
  address: string;
  /** Whether this process started the server (false with VOXGATE_ADDR). */
  owned: boolean;
  stop(): Promise<void>;
}

function tail(file: string, n = 4000): string {
  try {
    const s = readFileSync(file, "utf8");
    return s.length > n ? "…" + s.slice(-n) : s;
  } catch {
    return "";
  }
}

function exited(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once("exit", () => resolve());
  });
}

/**
 * VOXGATE_ADDR (host:port) if set; otherwise `$VOXGATE_BIN serve --port 0 --ready-file F`
 * (VOXGATE_BIN defaults to <repo>/.venv/bin/voxgate), waiting for F to name the address.
 */
export async function startServer(): Promise<LiveServer> {
  const given = process.env.VOXGATE_ADDR;
  if (given) return { address: given, owned: false, stop: async () => undefined };

  const bin = process.env.VOXGATE_BIN || path.join(repoRoot(), ".venv", "bin", "voxgate");
  if (!existsSync(bin)) throw new Error(`voxgate binary not found at ${bin} (set VOXGATE_BIN or VOXGATE_ADDR)`);
  const startTimeoutMs = Number(process.env.VOXGATE_START_TIMEOUT_S || 180) * 1000;
  const dir = mkdtempSync(path.join(tmpdir(), "voxgate-ts-"));
  const readyFile = path.join(dir, "ready.json");
  const logFile = path.join(dir, "server.log");
  const log = openSync(logFile, "w");
  const child = spawn(bin, ["serve", "--port", "0", "--ready-file", readyFile], {
    cwd: repoRoot(),
    stdio: ["ignore", log, log],
  });
  closeSync(log);
  let exitInfo: string | undefined;
  child.once("exit", (code, sig) => (exitInfo = `exited with ${sig ?? code}`));
  child.once("error", (e) => (exitInfo = `failed to start: ${e.message}`));

  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill("SIGTERM");
      const t = setTimeout(() => child.kill("SIGKILL"), 30_000);
      await exited(child);
      clearTimeout(t);
    }
    if (!process.env.VOXGATE_KEEP_LOG) rmSync(dir, { recursive: true, force: true });
  };

  const deadline = Date.now() + startTimeoutMs;
  for (;;) {
    if (existsSync(readyFile)) {
      try {
        const ready = JSON.parse(readFileSync(readyFile, "utf8")) as { address?: string; port?: number };
        const address = ready.address ?? (ready.port ? `127.0.0.1:${ready.port}` : undefined);
        if (address) return { address, owned: true, stop };
      } catch {
        // being written; try again
      }
    }
    if (exitInfo !== undefined) {
      const out = tail(logFile);
      await stop();
      throw new Error(`voxgate ${exitInfo} before it was ready; log:\n${out}`);
    }
    if (Date.now() > deadline) {
      const out = tail(logFile);
      await stop();
      throw new Error(`voxgate not ready after ${startTimeoutMs / 1000} s; log:\n${out}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}
