// The end-to-end self-check, on only when the environment names CODEKIN_E2E_OUT (users never see
// it): it asks VS Code's own API what the extension and the real server provide, records what the
// UI's actions did, and writes all of it to that JSON file for the test to read.
import * as fs from "fs";
import * as vscode from "vscode";
import type { CodekinClient } from "./client";
import type { CompareShown } from "./compare";
import type { DuplicatesView } from "./duplicates";
import { Commands, type DocHit, type Hit, type Status } from "./protocol";
import { SECTION, contributedKeys, explicitSettings } from "./settings";
import type { Origin, SimilarView } from "./similar";
import type { StatusBar } from "./status";

export interface Parts {
  extension: vscode.Extension<unknown>;
  client: CodekinClient;
  similar: SimilarView;
  duplicates: DuplicatesView;
  status: StatusBar;
}

type Step = () => Promise<unknown>;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function poll<T>(what: string, seconds: number, check: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + seconds * 1000;
  for (;;) {
    const value = await check().catch(() => undefined);
    if (value !== undefined) {
      return value;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${seconds} s waiting for ${what}`);
    }
    await sleep(250);
  }
}

function brief(hit: Hit): object {
  return { name: hit.name, uri: hit.uri, line: hit.range.start.line, score: hit.score, clone: hit.clone ?? null };
}

export class Recorder {
  readonly data: Record<string, unknown> = { events: [] };

  constructor(private readonly file: string) {}

  record(key: string, value: unknown): void {
    this.data[key] = value;
    this.flush();
  }

  event(name: string, value: unknown): void {
    (this.data.events as unknown[]).push({ ...(value as object), name, at: Date.now() });
    this.flush();
  }

  private flush(): void {
    const temporary = `${this.file}.tmp`;
    fs.writeFileSync(temporary, JSON.stringify(this.data, null, 1));
    fs.renameSync(temporary, this.file);
  }
}

/** Each step's answer under its name, or `{error}`; later steps run even when one fails. */
async function runSteps(recorder: Recorder, steps: Record<string, Step>): Promise<void> {
  for (const [name, step] of Object.entries(steps)) {
    try {
      recorder.record(name, await step());
    } catch (error) {
      recorder.record(name, { error: error instanceof Error ? error.message : String(error) });
    }
  }
}

function folderFile(relative: string): vscode.Uri {
  const folder = vscode.workspace.workspaceFolders?.[0];
  if (!folder) {
    throw new Error("no workspace folder");
  }
  return vscode.Uri.joinPath(folder.uri, relative);
}

/** The lenses of a file, resolved, once the server gives them a title. */
async function lensesOf(uri: vscode.Uri): Promise<object[]> {
  return poll("a resolved code lens", 60, async () => {
    const lenses = await vscode.commands.executeCommand<vscode.CodeLens[]>("vscode.executeCodeLensProvider", uri, 10);
    const titled = lenses.filter((lens) => lens.command?.title);
    return titled.length ? titled.map(describeLens) : undefined;
  });
}

function describeLens(lens: vscode.CodeLens): object {
  const [, , locations] = (lens.command?.arguments ?? []) as [unknown, unknown, { uri: string }[] | undefined];
  return {
    line: lens.range.start.line,
    title: lens.command?.title,
    command: lens.command?.command,
    locations: Array.isArray(locations) ? locations.map((location) => location.uri) : [],
  };
}

function apiSteps(parts: Parts): Record<string, Step> {
  const { client, duplicates, status } = parts;
  const survey = folderFile("geometry/survey.py");
  const shapes = folderFile("geometry/shapes.py");
  const at = (uri: vscode.Uri, line: number, character: number) => ({ uri: uri.toString(), position: { line, character } });
  return {
    activation: async () => ({ active: parts.extension.isActive, server: client.command, state: client.state }),
    indexed: () => indexed(client),
    serverInfo: async () => client.languageClient?.initializeResult?.serverInfo ?? null,
    commands: async () => (await vscode.commands.getCommands(true)).filter((id) => id.startsWith("codekin.")),
    sentSettings: async () => explicitSettings(contributedKeys(parts.extension)),
    lenses: async () => {
      const editor = await vscode.window.showTextDocument(survey);
      const name = new vscode.Position(5, 6);
      editor.selection = new vscode.Selection(name, name);
      return lensesOf(survey);
    },
    workspaceSymbols: async () =>
      (await vscode.commands.executeCommand<vscode.SymbolInformation[]>(
        "vscode.executeWorkspaceSymbolProvider",
        "read settings from an ini file",
      )).map((symbol) => ({ name: symbol.name, uri: symbol.location.uri.toString() })),
    findSimilar: async () => (await client.request<Hit[]>(Commands.findSimilar, at(survey, 5, 6))).map(brief),
    searchCode: async () =>
      (await client.request<Hit[]>(Commands.searchCode, { query: "read settings from an ini file" })).map(brief),
    lookupDocs: async () => (await client.request<DocHit[]>(Commands.lookupDocs, at(shapes, 7, 6))).map(brief),
    hover: async () => {
      const hovers = await vscode.commands.executeCommand<vscode.Hover[]>(
        "vscode.executeHoverProvider",
        shapes,
        new vscode.Position(7, 6),
      );
      return hovers.flatMap((hover) => hover.contents.map((part) => (typeof part === "string" ? part : part.value)));
    },
    duplicatesTree: async () => {
      await duplicates.refresh();
      return duplicates.tree.getChildren().map((node) => ({
        label: node.label,
        description: node.description,
        members: duplicates.tree.getChildren(node).map((member) => `${member.label} — ${member.description}`),
      }));
    },
    statusBar: async () => {
      await status.refresh();
      return { text: status.item.text, model: status.status?.model ?? null };
    },
    ...settingSteps(parts, survey),
  };
}

/** Index status once every folder is open and indexed, and no unit waits for its vector. */
function indexed(client: CodekinClient): Promise<Status> {
  return poll("indexing to finish", 120, async () => {
    const answer = await client.request<Status>(Commands.status, {});
    const folders = answer.folders.length > 0 && answer.folders.every((folder) => folder.lastUpdate);
    const done = folders && !answer.indexing && answer.pending === 0;
    return done ? answer : undefined;
  });
}

function hintsOf(uri: vscode.Uri): string[] {
  return vscode.languages
    .getDiagnostics(uri)
    .filter((diagnostic) => diagnostic.source === undefined || /codekin/i.test(diagnostic.source))
    .map((diagnostic) => `${diagnostic.range.start.line}: ${diagnostic.message}`);
}

/** The commands that change settings or the index: hint diagnostics on and off, re-index. */
function settingSteps(parts: Parts, survey: vscode.Uri): Record<string, Step> {
  const { client } = parts;
  return {
    hintsOn: async () => {
      await vscode.commands.executeCommand("codekin.toggleDiagnostics");
      const hints = await poll("clone hints on survey.py", 30, async () => hintsOf(survey).length ? hintsOf(survey) : undefined);
      return { hints, sent: explicitSettings(contributedKeys(parts.extension)) };
    },
    hintsOff: async () => {
      await vscode.commands.executeCommand("codekin.toggleDiagnostics");
      await poll("no clone hints", 30, async () => (hintsOf(survey).length ? undefined : true));
      return { hints: hintsOf(survey) };
    },
    reindex: async () => {
      const answer = await vscode.commands.executeCommand<{ scheduled: string[] }>("codekin.reindex");
      await sleep(500);
      const status = await indexed(client);
      await sleep(1500); // the lenses' refresh that follows, before the UI steps click one
      return { answer, status };
    },
  };
}

/** Wire the recorder to the UI's actions: lens clicks, find-similar answers, comparisons. */
export function recordUi(recorder: Recorder, parts: Parts): (shown: CompareShown) => void {
  parts.client.onShowSimilar((uri, locations) =>
    recorder.event("showSimilar", { uri, locations: (locations as { uri: string }[]).map((l) => l.uri) }),
  );
  parts.similar.onResults((origin: Origin, hits: Hit[]) =>
    recorder.event("similarResults", {
      origin,
      hits: hits.map(brief),
      treeItems: parts.similar.tree.getChildren().map((item) => `${item.label} — ${item.description}`),
    }),
  );
  return (shown: CompareShown) => {
    const tab = vscode.window.tabGroups.activeTabGroup.activeTab;
    recorder.event("compareShown", {
      title: shown.title,
      a: shown.comparison.a.name,
      b: shown.comparison.b.name,
      similarity: shown.comparison.similarity,
      renames: shown.comparison.renames,
      activeTabIsDiff: tab?.input instanceof vscode.TabInputTextDiff,
      activeTabLabel: tab?.label ?? null,
    });
  };
}

/** The self-check, when CODEKIN_E2E_OUT is set; undefined otherwise. */
export function startSelfCheck(parts: Parts): Recorder | undefined {
  const file = process.env.CODEKIN_E2E_OUT;
  if (!file) {
    return undefined;
  }
  const recorder = new Recorder(file);
  const texts: string[] = [];
  parts.status.onRender((text) => {
    if (texts[texts.length - 1] !== text) {
      texts.push(text);
      recorder.record("statusTexts", texts);
    }
  });
  void vscode.commands.executeCommand("setContext", `${SECTION}.e2e`, true);
  void (async () => {
    await poll("the server to run", 90, async () => (parts.client.running ? true : undefined)).catch(() => undefined);
    await runSteps(recorder, apiSteps(parts));
    await vscode.commands.executeCommand("notifications.clearAll"); // the toggles' toasts, out of the screenshots
    recorder.record("selfCheckDone", true);
  })();
  return recorder;
}
