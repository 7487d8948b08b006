// The "Duplicates" tree view: codekin.findDuplicates' clone classes, of the workspace or of the
// current file, with their kinds and scores; refreshed when an indexing run ends and on save.
import * as vscode from "vscode";
import type { CodekinClient } from "./client";
import { showError } from "./errors";
import {
  type CloneClass,
  type CloneMember,
  Commands,
  kindsLabel,
  openArgs,
  scoreLabel,
  symbolIcon,
  toUri,
  whereLabel,
} from "./protocol";

export type Scope = "workspace" | "file";

export class ClassItem extends vscode.TreeItem {
  constructor(readonly clones: CloneClass) {
    const names = [...new Set(clones.members.map((member) => member.name))];
    super(names.join(", "), vscode.TreeItemCollapsibleState.Expanded);
    this.description = `${clones.members.length} members · ${kindsLabel(clones.kinds)} · ${scoreLabel(clones.score)}`;
    this.tooltip = `${clones.kind} clones, score ${scoreLabel(clones.score)}: ${clones.members.map(whereLabel).join(", ")}`;
    this.iconPath = new vscode.ThemeIcon("copy");
    this.contextValue = "codekin.class";
  }
}

/** A member, with the member it is compared with (the class's first, or for that one the second). */
export class MemberItem extends vscode.TreeItem {
  constructor(
    readonly member: CloneMember,
    readonly partner: CloneMember,
    readonly parent: ClassItem,
  ) {
    super(member.name, vscode.TreeItemCollapsibleState.None);
    const kind = member.exact ? "exact" : (member.clone ?? "");
    this.description = `${whereLabel(member)}${kind ? ` · ${kind}` : ""} · ${scoreLabel(member.score)}`;
    this.tooltip = `${member.name} (${member.kind}) — compare with ${partner.name} at ${whereLabel(partner)}`;
    this.iconPath = symbolIcon(member.kind);
    this.contextValue = "codekin.member";
    this.resourceUri = toUri(member.uri);
    this.command = { title: "Open", command: "vscode.open", arguments: openArgs(member) };
  }
}

type Node = ClassItem | MemberItem;

export class DuplicatesTree implements vscode.TreeDataProvider<Node> {
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChangeTreeData = this.changed.event;
  classes: CloneClass[] = [];
  private roots: ClassItem[] = [];

  set(classes: CloneClass[]): void {
    this.classes = classes;
    this.roots = classes.map((clones) => new ClassItem(clones));
    this.changed.fire();
  }

  getTreeItem(node: Node): vscode.TreeItem {
    return node;
  }

  getChildren(node?: Node): Node[] {
    if (!node) {
      return this.roots;
    }
    if (node instanceof MemberItem) {
      return [];
    }
    const members = node.clones.members;
    return members.map((member, index) => new MemberItem(member, members[index === 0 ? 1 : 0] ?? member, node));
  }

  getParent(node: Node): ClassItem | undefined {
    return node instanceof MemberItem ? node.parent : undefined;
  }
}

export class DuplicatesView implements vscode.Disposable {
  readonly tree = new DuplicatesTree();
  readonly view: vscode.TreeView<Node>;
  scope: Scope = "workspace";
  private pending: vscode.CancellationTokenSource | undefined;
  private timer: NodeJS.Timeout | undefined;
  private readonly subscriptions: vscode.Disposable[] = [];

  constructor(private readonly client: CodekinClient) {
    this.view = vscode.window.createTreeView("codekin.duplicates", { treeDataProvider: this.tree, showCollapseAll: true });
    void this.setScope("workspace");
    this.subscriptions.push(
      client.onProgress((value) => value.kind === "end" && this.refreshSoon()),
      client.onState((state) => state === "running" && this.refreshSoon()),
      vscode.workspace.onDidSaveTextDocument(() => this.refreshSoon(1500)),
      vscode.window.onDidChangeActiveTextEditor(() => this.scope === "file" && this.refreshSoon()),
      this.view.onDidChangeVisibility((event) => event.visible && this.refreshSoon()),
    );
  }

  async setScope(scope: Scope): Promise<void> {
    this.scope = scope;
    await vscode.commands.executeCommand("setContext", "codekin.duplicatesScope", scope);
    this.refreshSoon(0);
  }

  /** Refresh after `delay` ms; later calls within it make one refresh. */
  refreshSoon(delay = 300): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.refresh(), delay);
  }

  private scopeUri(): string | undefined | null {
    if (this.scope === "workspace") {
      return undefined;
    }
    const document = vscode.window.activeTextEditor?.document;
    return document?.uri.scheme === "file" ? document.uri.toString() : null;
  }

  async refresh(): Promise<CloneClass[] | undefined> {
    if (!this.client.running) {
      this.view.message = "codekin's server is not running.";
      return undefined;
    }
    const uri = this.scopeUri();
    if (uri === null) {
      this.tree.set([]);
      this.view.message = "Open a file to see its duplicates.";
      return [];
    }
    this.pending?.cancel();
    const source = (this.pending = new vscode.CancellationTokenSource());
    try {
      const classes = await this.client.request<CloneClass[]>(Commands.findDuplicates, uri ? { uri } : {}, source.token);
      this.show(classes, uri);
      return classes;
    } catch (error) {
      showError("Find Duplicates", error);
      return undefined;
    } finally {
      source.dispose();
    }
  }

  private show(classes: CloneClass[], uri: string | undefined): void {
    this.tree.set(classes);
    const where = uri ? vscode.workspace.asRelativePath(vscode.Uri.parse(uri), false) : "the workspace";
    const members = classes.reduce((sum, clones) => sum + clones.members.length, 0);
    this.view.message = classes.length
      ? `${classes.length} clone class${classes.length === 1 ? "" : "es"} (${members} symbols) in ${where}`
      : `No duplicates in ${where}.`;
    this.view.badge = classes.length ? { value: classes.length, tooltip: `${classes.length} clone classes` } : undefined;
  }

  dispose(): void {
    clearTimeout(this.timer);
    this.pending?.cancel();
    this.subscriptions.forEach((subscription) => subscription.dispose());
    this.view.dispose();
  }
}

/** The command: hint diagnostics for clones on or off (`codekin.features.diagnostics`). */
export async function toggleDiagnostics(): Promise<boolean> {
  const config = vscode.workspace.getConfiguration("codekin");
  const on = !config.get<boolean>("features.diagnostics", false);
  const target = vscode.workspace.workspaceFolders?.length
    ? vscode.ConfigurationTarget.Workspace
    : vscode.ConfigurationTarget.Global;
  await config.update("features.diagnostics", on, target);
  void vscode.window.showInformationMessage(`codekin: clone hints ${on ? "on" : "off"}.`);
  return on;
}
