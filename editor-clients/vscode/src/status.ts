// The status bar item: the model, indexing progress and a partial marker; clicking it shows
// codekin.status in full, with the actions that go with it.
import * as vscode from "vscode";
import type { ClientState, CodekinClient, ProgressValue } from "./client";
import { describe } from "./errors";
import { Commands, type Status } from "./protocol";

export class StatusBar implements vscode.Disposable {
  readonly item: vscode.StatusBarItem;
  status: Status | undefined;
  private progress: { title: string; percentage?: number; message?: string } | undefined;
  private recheck: { timer?: NodeJS.Timeout; delay: number } = { delay: 1000 };
  private readonly subscriptions: vscode.Disposable[] = [];
  private readonly rendered = new vscode.EventEmitter<string>();
  /** Each text the item takes (the end-to-end check records them). */
  readonly onRender = this.rendered.event;

  constructor(private readonly client: CodekinClient) {
    this.item = vscode.window.createStatusBarItem("codekin.status", vscode.StatusBarAlignment.Left, 10);
    this.item.name = "codekin";
    this.item.command = "codekin.showStatus";
    this.subscriptions.push(
      client.onState((state) => this.stateChanged(state)),
      client.onProgress((value) => this.progressed(value)),
    );
    this.render();
    this.item.show();
  }

  private stateChanged(state: ClientState): void {
    if (state !== "running") {
      this.status = undefined;
      this.progress = undefined;
    }
    this.render();
    if (state === "running") {
      void this.refresh();
    }
  }

  private progressed(value: ProgressValue): void {
    if (value.kind === "begin") {
      this.progress = { title: value.title, percentage: value.percentage, message: value.message };
      if (!this.status) {
        void this.refresh(); // the model's name, while it indexes
      }
    } else if (value.kind === "report" && this.progress) {
      this.progress.percentage = value.percentage ?? this.progress.percentage;
      this.progress.message = value.message ?? this.progress.message;
    } else if (value.kind === "end") {
      this.progress = undefined;
      void this.refresh();
    }
    this.render();
  }

  /** Ask the server for codekin.status and show it; undefined when it is not running. */
  async refresh(): Promise<Status | undefined> {
    if (!this.client.running) {
      return undefined;
    }
    try {
      this.status = await this.client.request<Status>(Commands.status, {});
    } catch (error) {
      this.client.log.warn(`codekin.status: ${describe(error)}`);
    }
    this.render();
    this.scheduleRecheck();
    return this.status;
  }

  /** Without progress to wait for (units still pending, a folder still indexing): ask again, less and less often. */
  private scheduleRecheck(): void {
    clearTimeout(this.recheck.timer);
    if (this.progress || !this.partial) {
      this.recheck.delay = 1000;
      return;
    }
    this.recheck.timer = setTimeout(() => void this.refresh(), this.recheck.delay);
    this.recheck.delay = Math.min(this.recheck.delay * 2, 30_000);
  }

  /** True while answers come from a partial index: indexing, or units still waiting for vectors. */
  get partial(): boolean {
    return this.progress !== undefined || Boolean(this.status?.indexing) || (this.status?.pending ?? 0) > 0;
  }

  private render(): void {
    this.renderText();
    this.rendered.fire(this.item.text);
  }

  private renderText(): void {
    const item = this.item;
    item.backgroundColor = undefined;
    const state = this.client.state;
    if (state !== "running") {
      const texts: Record<ClientState, string> = {
        starting: "$(loading~spin) codekin: starting",
        stopped: "$(circle-slash) codekin: stopped",
        "not found": "$(error) codekin: server not found",
        running: "",
      };
      item.text = texts[state];
      item.tooltip = state === "not found" ? "codekin's server was not found: click for details" : "codekin";
      item.backgroundColor = state === "not found" ? new vscode.ThemeColor("statusBarItem.errorBackground") : undefined;
      return;
    }
    const model = this.status?.worker ?? this.status?.model ?? "loading model";
    const percent = this.progress?.percentage !== undefined ? ` ${this.progress.percentage}%` : "";
    const icon = this.progress ? "$(sync~spin)" : "$(symbol-misc)";
    const partial = this.partial ? " (partial)" : "";
    item.text = `${icon} codekin: ${model}${this.progress ? ` indexing${percent}` : ""}${partial}`;
    item.tooltip = this.tooltip();
    if (this.status?.problem) {
      item.backgroundColor = new vscode.ThemeColor("statusBarItem.warningBackground");
    }
  }

  private tooltip(): vscode.MarkdownString {
    const lines = statusLines(this.status);
    if (this.progress) {
      lines.unshift(`**${this.progress.title}**: ${this.progress.message ?? ""} ${this.progress.percentage ?? ""}%`);
    }
    if (this.partial) {
      lines.push("_Answers come from what is indexed so far._");
    }
    lines.push("", "Click for details");
    return new vscode.MarkdownString(lines.join("  \n"));
  }

  dispose(): void {
    clearTimeout(this.recheck.timer);
    this.subscriptions.forEach((subscription) => subscription.dispose());
    this.rendered.dispose();
    this.item.dispose();
  }
}

/** codekin.status as lines "field: value". */
export function statusLines(status: Status | undefined): string[] {
  if (!status) {
    return ["codekin: no status yet"];
  }
  const lines = [
    `model: ${status.model ?? "—"}${status.reason ? ` (${status.reason})` : ""}`,
    status.worker ? `worker: ${status.worker}` : `device: ${status.device ?? "—"}`,
    `files: ${status.files}, units: ${status.units}, pending: ${status.pending}`,
    `indexing: ${status.indexing ? "yes" : "no"}; last update: ${status.lastUpdate ?? "never"}`,
    `index: ${status.indexPath ?? "—"}`,
  ];
  if (status.problem) {
    lines.unshift(`problem: ${status.problem}`);
  }
  for (const folder of status.folders.length > 1 ? status.folders : []) {
    const name = vscode.workspace.asRelativePath(vscode.Uri.parse(folder.uri), true);
    lines.push(`${name}: ${folder.files} files, ${folder.units} units${folder.error ? `, error: ${folder.error}` : ""}`);
  }
  return lines;
}

interface Action extends vscode.QuickPickItem {
  command?: string;
}

/** The command behind the item: the status in full, and re-index, restart, log and settings. */
export async function showStatus(bar: StatusBar): Promise<void> {
  const status = await bar.refresh();
  const details: Action[] = statusLines(status).map((line) => ({ label: line }));
  const actions: Action[] = [
    { label: "$(refresh) Re-index the workspace", command: "codekin.reindex" },
    { label: "$(debug-restart) Restart the server", command: "codekin.restart" },
    { label: "$(output) Show the server log", command: "codekin.showLog" },
    { label: "$(gear) Open codekin's settings", command: "codekin.openSettings" },
  ];
  const separator: Action = { label: "", kind: vscode.QuickPickItemKind.Separator };
  const chosen = await vscode.window.showQuickPick([...details, separator, ...actions], {
    title: `codekin: ${status ? `${status.model} on ${status.worker ?? status.device}` : bar.item.text}`,
    placeHolder: "codekin's status; pick an action",
  });
  if (chosen?.command) {
    await vscode.commands.executeCommand(chosen.command);
  }
}
