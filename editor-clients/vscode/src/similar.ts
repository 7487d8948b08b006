// Find Similar Code: the symbol under the cursor, its copies and look-alikes in the references peek
// and in the "Similar code" tree view, each with its kind and score.
import * as vscode from "vscode";
import type { CodekinClient } from "./client";
import {
  Commands,
  type Hit,
  cloneLabel,
  openArgs,
  scoreLabel,
  symbolIcon,
  toLocation,
  toUri,
  whereLabel,
} from "./protocol";
import { showError } from "./errors";

/** What a search was about: the document and position the user asked from. */
export interface Origin {
  uri: string;
  position: { line: number; character: number };
  label: string;
}

/** A result row: a hit and the origin it can be compared with. */
export class HitItem extends vscode.TreeItem {
  constructor(
    readonly hit: Hit,
    readonly origin: Origin,
  ) {
    super(hit.name, vscode.TreeItemCollapsibleState.None);
    this.description = `${cloneLabel(hit.clone)} · ${scoreLabel(hit.score)} · ${whereLabel(hit)}`;
    this.tooltip = new vscode.MarkdownString(
      `**${hit.name}** (${hit.kind}) — ${cloneLabel(hit.clone)}, score ${scoreLabel(hit.score)}\n\n` +
        `${whereLabel(hit)}`,
    );
    this.iconPath = symbolIcon(hit.kind);
    this.contextValue = "codekin.hit";
    this.resourceUri = toUri(hit.uri);
    this.command = { title: "Open", command: "vscode.open", arguments: openArgs(hit) };
  }
}

export class SimilarTree implements vscode.TreeDataProvider<HitItem> {
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChangeTreeData = this.changed.event;
  private items: HitItem[] = [];
  origin: Origin | undefined;

  set(origin: Origin, hits: Hit[]): void {
    this.origin = origin;
    this.items = hits.map((hit) => new HitItem(hit, origin));
    this.changed.fire();
  }

  clear(): void {
    this.origin = undefined;
    this.items = [];
    this.changed.fire();
  }

  getTreeItem(item: HitItem): vscode.TreeItem {
    return item;
  }

  getChildren(item?: HitItem): HitItem[] {
    return item ? [] : this.items;
  }

  getParent(): undefined {
    return undefined;
  }
}

export class SimilarView implements vscode.Disposable {
  readonly tree = new SimilarTree();
  readonly view: vscode.TreeView<HitItem>;
  private readonly listeners: ((origin: Origin, hits: Hit[]) => void)[] = [];

  constructor(private readonly client: CodekinClient) {
    this.view = vscode.window.createTreeView("codekin.similar", { treeDataProvider: this.tree });
    this.view.message = "Run “Find Similar Code” on a symbol (editor context menu).";
  }

  /** Called with each answer (the end-to-end check records them). */
  onResults(listener: (origin: Origin, hits: Hit[]) => void): void {
    this.listeners.push(listener);
  }

  /** The command: the symbol at the cursor of `editor` (the active one by default). */
  async findSimilar(editor = vscode.window.activeTextEditor): Promise<Hit[] | undefined> {
    if (!editor) {
      void vscode.window.showInformationMessage("codekin: open a file and put the cursor on a symbol.");
      return undefined;
    }
    const document = editor.document;
    const position = editor.selection.active;
    const origin: Origin = {
      uri: document.uri.toString(),
      position: { line: position.line, character: position.character },
      label: `${vscode.workspace.asRelativePath(document.uri, false)}:${position.line + 1}`,
    };
    const hits = await this.query(origin);
    if (hits === undefined) {
      return undefined;
    }
    await this.show(origin, hits, editor);
    this.listeners.forEach((listener) => listener(origin, hits));
    return hits;
  }

  private async query(origin: Origin): Promise<Hit[] | undefined> {
    try {
      return await vscode.window.withProgress(
        { location: { viewId: "codekin.similar" }, title: "Finding similar code" },
        (_, token) =>
          this.client.request<Hit[]>(Commands.findSimilar, { uri: origin.uri, position: origin.position }, token),
      );
    } catch (error) {
      showError("Find Similar Code", error);
      return undefined;
    }
  }

  private async show(origin: Origin, hits: Hit[], editor: vscode.TextEditor): Promise<void> {
    this.tree.set(origin, hits);
    const copies = hits.filter((hit) => hit.clone).length;
    const ofWhich = copies ? ` (${copies} ${copies === 1 ? "copy" : "copies"})` : "";
    this.view.message = hits.length
      ? `${hits.length} like the symbol at ${origin.label}${ofWhich}`
      : `Nothing like the symbol at ${origin.label}.`;
    this.view.badge = hits.length ? { value: hits.length, tooltip: `${hits.length} similar` } : undefined;
    if (!this.view.visible) {
      await vscode.commands.executeCommand("codekin.similar.focus");
    }
    if (hits.length === 0) {
      return;
    }
    // VS Code's peek selects the result nearest the cursor, which in the same file can be a weak
    // one: when there are copies it shows those (as the lens does); the view lists every result.
    const shown = hits.filter((hit) => hit.clone);
    await vscode.window.showTextDocument(editor.document, { viewColumn: editor.viewColumn, preserveFocus: false });
    await vscode.commands.executeCommand(
      "editor.action.showReferences",
      editor.document.uri,
      editor.selection.active,
      (shown.length ? shown : hits).map(toLocation),
    );
  }

  dispose(): void {
    this.view.dispose();
  }
}
