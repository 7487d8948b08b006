// codekin for VS Code: starts the codekin language server and adds Find Similar Code, the
// Similar code and Duplicates views, Compare, Search Code, Docs for Symbol and a status item.
import * as fs from "fs";
import * as path from "path";
import * as vscode from "vscode";
import { CodekinClient } from "./client";
import { CompareDocuments, Comparer, SCHEME } from "./compare";
import { lookupDocs } from "./docs";
import { DuplicatesView, MemberItem, toggleDiagnostics } from "./duplicates";
import { type Parts, type Recorder, recordUi, startSelfCheck } from "./e2e";
import { searchCode } from "./search";
import { HitItem, SimilarView } from "./similar";
import { showStatus, StatusBar } from "./status";
import { startOf } from "./protocol";

let client: CodekinClient | undefined;

function compareCommand(comparer: Comparer) {
  return async (item?: HitItem | MemberItem) => {
    if (item instanceof HitItem) {
      await comparer.compare(item.origin.uri, item.origin.position, item.hit);
    } else if (item instanceof MemberItem) {
      await comparer.compare(item.member.uri, startOf(item.member), item.partner);
    } else {
      void vscode.window.showInformationMessage("codekin: pick Compare on a result in the Similar code or Duplicates view.");
    }
  };
}

/** This extension's README (vsce stores it as readme.md), where "Install" says what to do. */
function howToInstall(context: vscode.ExtensionContext): Thenable<unknown> {
  const name = ["README.md", "readme.md"].find((file) => fs.existsSync(path.join(context.extensionPath, file)));
  return vscode.commands.executeCommand("markdown.showPreview", vscode.Uri.joinPath(context.extensionUri, name ?? "README.md"));
}

function registerCommands(context: vscode.ExtensionContext, parts: Parts, comparer: Comparer, recorder?: Recorder): void {
  const { client: codekin, similar, duplicates, status } = parts;
  const commands: Record<string, (...args: never[]) => unknown> = {
    "codekin.findSimilarCode": () => similar.findSimilar(),
    "codekin.compare": compareCommand(comparer),
    "codekin.clearSimilar": () => similar.tree.clear(),
    "codekin.showDuplicates": async () => {
      await vscode.commands.executeCommand("codekin.duplicates.focus");
      await duplicates.refresh();
    },
    "codekin.refreshDuplicates": () => duplicates.refresh(),
    "codekin.duplicatesOfFile": () => duplicates.setScope("file"),
    "codekin.duplicatesOfWorkspace": () => duplicates.setScope("workspace"),
    "codekin.toggleDiagnostics": () => toggleDiagnostics(),
    "codekin.search": async () => {
      const hit = await searchCode(codekin);
      recorder?.event("searchPicked", { hit: hit?.name ?? null, uri: hit?.uri ?? null,
        activeEditor: vscode.window.activeTextEditor?.document.uri.toString() ?? null });
    },
    "codekin.docsForSymbol": async () => {
      const doc = await lookupDocs(codekin);
      recorder?.event("docsPicked", { doc: doc?.name ?? null, uri: doc?.uri ?? null,
        activeEditor: vscode.window.activeTextEditor?.document.uri.toString() ?? null,
        line: vscode.window.activeTextEditor?.selection.active.line ?? null });
    },
    "codekin.showStatus": () => showStatus(status),
    "codekin.restart": () => codekin.restart(),
    "codekin.showLog": () => codekin.log.show(),
    "codekin.openSettings": () => vscode.commands.executeCommand("workbench.action.openSettings", "@ext:codekin.codekin"),
    "codekin.howToInstall": () => howToInstall(context),
  };
  for (const [id, run] of Object.entries(commands)) {
    context.subscriptions.push(vscode.commands.registerCommand(id, run));
  }
}

export async function activate(context: vscode.ExtensionContext): Promise<void> {
  const codekin = (client = new CodekinClient(context.extension));
  const documents = new CompareDocuments();
  const comparer = new Comparer(codekin, documents);
  const parts: Parts = {
    extension: context.extension,
    client: codekin,
    similar: new SimilarView(codekin),
    duplicates: new DuplicatesView(codekin),
    status: new StatusBar(codekin),
  };
  context.subscriptions.push(
    codekin,
    documents,
    parts.similar,
    parts.duplicates,
    parts.status,
    vscode.workspace.registerTextDocumentContentProvider(SCHEME, documents),
    vscode.workspace.onDidChangeConfiguration((event) => {
      if (event.affectsConfiguration("codekin.server")) {
        codekin.log.info("codekin.server changed: restarting the server");
        void codekin.restart();
      }
    }),
  );
  const recorder = startSelfCheck(parts);
  if (recorder) {
    comparer.onShown(recordUi(recorder, parts));
  }
  registerCommands(context, parts, comparer, recorder);
  void codekin.start();
}

export async function deactivate(): Promise<void> {
  await client?.stop();
  client = undefined;
}
