// A throw-away code-server: a fresh profile (HOME, XDG_* and VS Code's folders in a temp dir), the
// extension installed from its .vsix, a copy of the sample workspace, and a clean stop that ends
// code-server's process group and every process under it (extension host, language server).
import { execFileSync, spawn } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** VS Code settings of the profile: quiet workbench, and codekin pointed at the real server. */
function userSettings(options, indexDir) {
  return {
    "chat.disableAIFeatures": true,
    "workbench.secondarySideBar.defaultVisibility": "hidden",
    "security.workspace.trust.enabled": false,
    "workbench.startupEditor": "none",
    "workbench.tips.enabled": false,
    "workbench.enableExperiments": false,
    "telemetry.telemetryLevel": "off",
    "update.mode": "none",
    "extensions.autoCheckUpdates": false,
    "extensions.autoUpdate": false,
    "extensions.ignoreRecommendations": true,
    "git.enabled": false,
    "editor.minimap.enabled": false,
    "diffEditor.useInlineViewWhenSpaceIsLimited": false,
    "window.commandCenter": false,
    "workbench.colorTheme": "Default Light Modern",
    "codekin.server.command": options.serverCommand,
    "codekin.model": "minilm",
    "codekin.device": "cpu",
    "codekin.indexDir": indexDir,
  };
}

export async function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** Folders and environment of one run, under a new temp dir. */
export function makeProfile(options) {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "codekin-vscode-e2e-"));
  const dirs = {};
  for (const name of ["home", "config", "data", "cache", "user-data", "extensions", "index"]) {
    dirs[name] = path.join(root, name);
    fs.mkdirSync(dirs[name], { recursive: true });
  }
  const workspace = path.join(root, "workspace");
  fs.cpSync(options.sampleWorkspace, workspace, { recursive: true });
  // User settings, and the same as the remote machine's: code-server's extension host is "remote",
  // where machine-overridable settings (codekin.server.command, indexDir) come from Machine/.
  for (const scope of ["User", "Machine"]) {
    fs.mkdirSync(path.join(dirs["user-data"], scope), { recursive: true });
    fs.writeFileSync(
      path.join(dirs["user-data"], scope, "settings.json"),
      JSON.stringify(userSettings(options, dirs.index), null, 2),
    );
  }
  const env = {
    ...process.env,
    PATH: `${options.nodeBin}${path.delimiter}${process.env.PATH}`,
    HOME: dirs.home,
    XDG_CONFIG_HOME: dirs.config,
    XDG_DATA_HOME: dirs.data,
    XDG_CACHE_HOME: dirs.cache,
    HF_HUB_OFFLINE: "1",
    TRANSFORMERS_OFFLINE: "1",
    CODEKIN_E2E_OUT: path.join(root, "extension-report.json"),
  };
  return { root, dirs, workspace, env, report: env.CODEKIN_E2E_OUT };
}

function vsCodeArgs(profile) {
  return ["--user-data-dir", profile.dirs["user-data"], "--extensions-dir", profile.dirs.extensions];
}

export function installExtension(options, profile) {
  const output = execFileSync(
    options.codeServer,
    ["--install-extension", options.vsix, "--force", ...vsCodeArgs(profile)],
    { env: profile.env, encoding: "utf8", timeout: 120_000 },
  );
  return output.trim();
}

async function waitHealthy(url, child, seconds) {
  const deadline = Date.now() + seconds * 1000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) {
      throw new Error(`code-server exited with ${child.exitCode}`);
    }
    try {
      const answer = await fetch(`${url}/healthz`);
      if (answer.ok) {
        return;
      }
    } catch {
      // not listening yet
    }
    await sleep(250);
  }
  throw new Error(`code-server did not answer /healthz within ${seconds} s`);
}

/** code-server on a free loopback port, in a process group of its own. */
export async function startCodeServer(options, profile) {
  const port = await freePort();
  const log = fs.openSync(path.join(options.out, "code-server.log"), "w");
  const args = [
    "--bind-addr", `127.0.0.1:${port}`, "--auth", "none", "--disable-telemetry",
    "--disable-update-check", "--disable-workspace-trust", ...vsCodeArgs(profile), profile.workspace,
  ];
  const child = spawn(options.codeServer, args, { env: profile.env, detached: true, stdio: ["ignore", log, log] });
  // For whoever runs this driver: the group to end should the driver itself be killed.
  fs.writeFileSync(path.join(options.out, "code-server.pid"), String(child.pid));
  const url = `http://127.0.0.1:${port}`;
  await waitHealthy(url, child, 60);
  return { child, url, port };
}

/** Every process whose parent chain leads to `pid` (read from /proc), deepest last. */
export function descendants(pid) {
  const parents = new Map();
  for (const entry of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) {
      continue;
    }
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      parents.set(Number(entry), ppid);
    } catch {
      // gone meanwhile
    }
  }
  const found = [];
  const queue = [pid];
  while (queue.length) {
    const current = queue.shift();
    for (const [child, parent] of parents) {
      if (parent === current) {
        found.push(child);
        queue.push(child);
      }
    }
  }
  return found;
}

/** The language servers running under code-server: pid and command line of each. */
export function serverProcesses(server, pattern = /codekin serve|lsp_server/) {
  const found = [];
  for (const pid of server?.child?.pid ? descendants(server.child.pid) : []) {
    try {
      const command = fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").join(" ").trim();
      if (pattern.test(command)) {
        found.push({ pid, command });
      }
    } catch {
      // gone meanwhile
    }
  }
  return found;
}

function alive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function signal(pids, name) {
  for (const pid of pids) {
    try {
      process.kill(pid, name);
    } catch {
      // already gone
    }
  }
}

/** SIGTERM to code-server's group and all its descendants, then SIGKILL what is left. */
export async function stopCodeServer(server) {
  if (!server?.child?.pid) {
    return [];
  }
  const pid = server.child.pid;
  const tree = [pid, ...descendants(pid)];
  try {
    process.kill(-pid, "SIGTERM");
  } catch {
    // the group is gone
  }
  signal(tree, "SIGTERM");
  for (let waited = 0; waited < 5000 && tree.some(alive); waited += 100) {
    await sleep(100);
  }
  const left = tree.filter(alive);
  try {
    process.kill(-pid, "SIGKILL");
  } catch {
    // the group is gone
  }
  signal(left, "SIGKILL");
  await sleep(200);
  return tree.filter(alive);
}
