// What the server gets of the `codekin` section: only the values a user set (in user, workspace or
// folder settings). A contributed default is never sent, so that a folder's pyproject.toml or
// .codekin.toml still applies where the user set nothing, as the server documents.
import * as vscode from "vscode";

export const SECTION = "codekin";

/** Keys of the section that belong to this client and are never sent to the server. */
const CLIENT_ONLY = ["server.", "trace."];

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** The leaf keys (`features.diagnostics`, `model`, ...) that package.json contributes. */
export function contributedKeys(extension: vscode.Extension<unknown>): string[] {
  const configuration = extension.packageJSON?.contributes?.configuration;
  const blocks: { properties?: Record<string, unknown> }[] = Array.isArray(configuration)
    ? configuration
    : [configuration ?? {}];
  const keys: string[] = [];
  for (const block of blocks) {
    for (const name of Object.keys(block.properties ?? {})) {
      const key = name.slice(SECTION.length + 1);
      if (name.startsWith(`${SECTION}.`) && !CLIENT_ONLY.some((prefix) => key.startsWith(prefix))) {
        keys.push(key);
      }
    }
  }
  return keys;
}

function setPath(target: Record<string, Json>, dotted: string, value: Json): void {
  const parts = dotted.split(".");
  let node = target;
  for (const part of parts.slice(0, -1)) {
    const next = node[part];
    if (next === null || typeof next !== "object" || Array.isArray(next)) {
      node[part] = {};
    }
    node = node[part] as Record<string, Json>;
  }
  node[parts[parts.length - 1]] = value;
}

/**
 * Keys a repository's own `.vscode/settings.json` must not choose unless the user trusts it (they
 * decide what code runs and where files go); `trustWorkspaceSettings` only ever from user settings.
 * `inspect()` reports workspace values whatever the trust, so the filtering is done here.
 */
const RESTRICTED = new Set(["model", "device", "worker", "indexDir"]);
const USER_ONLY = new Set(["trustWorkspaceSettings"]);

function explicitValue<T>(
  key: string,
  inspected: ReturnType<vscode.WorkspaceConfiguration["inspect"]> & object,
): T | undefined {
  if (USER_ONLY.has(key) || (RESTRICTED.has(key) && !vscode.workspace.isTrusted)) {
    return (inspected.globalLanguageValue ?? inspected.globalValue) as T | undefined;
  }
  const levels = [
    inspected.workspaceFolderLanguageValue,
    inspected.workspaceLanguageValue,
    inspected.globalLanguageValue,
    inspected.workspaceFolderValue,
    inspected.workspaceValue,
    inspected.globalValue,
  ];
  return levels.find((value) => value !== undefined) as T | undefined;
}

/** The settings a user set explicitly, nested (`{features: {diagnostics: true}}`), nulls left out. */
export function explicitSettings(keys: string[], scope?: vscode.Uri): Record<string, Json> {
  const config = vscode.workspace.getConfiguration(SECTION, scope ?? null);
  const result: Record<string, Json> = {};
  for (const key of keys) {
    const inspected = config.inspect<Json>(key);
    const value = inspected ? explicitValue<Json>(key, inspected) : undefined;
    if (value !== undefined && value !== null) {
      setPath(result, key, value);
    }
  }
  return result;
}

/** The client-only `codekin.server.*` settings. */
export interface ServerSettings {
  command: string[];
  env: Record<string, string>;
}

export function serverSettings(): ServerSettings {
  const config = vscode.workspace.getConfiguration(SECTION);
  const command = config.get<unknown[]>("server.command") ?? [];
  const env = config.get<Record<string, unknown>>("server.env") ?? {};
  return {
    command: command.filter((part): part is string => typeof part === "string"),
    env: Object.fromEntries(
      Object.entries(env).filter((entry): entry is [string, string] => typeof entry[1] === "string"),
    ),
  };
}
