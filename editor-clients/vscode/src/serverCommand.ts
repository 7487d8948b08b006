// Which program runs the language server: `codekin.server.command`, else `codekin serve --stdio`
// from PATH, else from a workspace folder's virtual environment.
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as vscode from "vscode";

export const DEFAULT_ARGS = ["serve", "--stdio"];

export interface ServerCommand {
  command: string;
  args: string[];
  /** Where it came from, for the log: "setting", "PATH" or the virtual environment's folder. */
  source: string;
}

const IS_WINDOWS = process.platform === "win32";
const EXECUTABLE = IS_WINDOWS ? "codekin.exe" : "codekin";

function isExecutable(file: string): boolean {
  try {
    fs.accessSync(file, IS_WINDOWS ? fs.constants.F_OK : fs.constants.X_OK);
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}

/** `~` and `${workspaceFolder}` in a setting's command, as in VS Code's own settings. */
function expand(part: string): string {
  const folder = vscode.workspace.workspaceFolders?.[0]?.uri.fsPath ?? "";
  const home = part === "~" || part.startsWith("~/") ? os.homedir() + part.slice(1) : part;
  return home.replace(/\$\{workspaceFolder\}/g, folder).replace(/\$\{userHome\}/g, os.homedir());
}

export function onPath(name: string, searchPath = process.env.PATH ?? ""): string | undefined {
  for (const dir of searchPath.split(path.delimiter)) {
    if (dir && isExecutable(path.join(dir, name))) {
      return path.join(dir, name);
    }
  }
  return undefined;
}

function inWorkspaceVenv(): string | undefined {
  const bin = IS_WINDOWS ? "Scripts" : "bin";
  for (const folder of vscode.workspace.workspaceFolders ?? []) {
    for (const venv of [".venv", "venv"]) {
      const candidate = path.join(folder.uri.fsPath, venv, bin, EXECUTABLE);
      if (isExecutable(candidate)) {
        return candidate;
      }
    }
  }
  return undefined;
}

/** The server's command line, or undefined when none is configured and none is found. */
export function resolveServerCommand(setting: string[]): ServerCommand | undefined {
  if (setting.length > 0) {
    const [command, ...args] = setting.map(expand);
    return { command, args, source: "setting codekin.server.command" };
  }
  const found = onPath(EXECUTABLE);
  if (found) {
    return { command: found, args: DEFAULT_ARGS, source: "PATH" };
  }
  const venv = inWorkspaceVenv();
  return venv ? { command: venv, args: DEFAULT_ARGS, source: "the workspace's virtual environment" } : undefined;
}

export const INSTALL_HELP =
  "codekin's language server was not found: set codekin.server.command, put `codekin` on PATH, " +
  "or install it into the workspace's .venv (pip install codekin).";
