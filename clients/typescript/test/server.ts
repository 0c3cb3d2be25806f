// The live voxgate the conformance tests talk to: the one at VOXGATE_ADDR (host:port). The tests
// do not start a server themselves; clients/typescript/test.sh runs them under
// `<repo>/.venv/bin/voxgate with-server -- node --test ...`, which starts a fresh voxgate on a
// free port, sets VOXGATE_ADDR, and stops it when the tests end.
import { existsSync } from "node:fs";
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

export const NO_SERVER =
  "VOXGATE_ADDR is not set: run the tests against a voxgate with clients/typescript/test.sh, or " +
  "`<repo>/.venv/bin/voxgate with-server -- npm test`, or set VOXGATE_ADDR=host:port of a running server";

/** The address (host:port) in VOXGATE_ADDR; throws, saying how to run the tests, when unset. */
export function liveServerAddress(): string {
  const address = process.env.VOXGATE_ADDR?.trim();
  if (!address) throw new Error(NO_SERVER);
  return address;
}
