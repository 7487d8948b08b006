// Search Code: a quick pick whose results follow the typed text (debounced; the request for an
// older text is cancelled), opening the chosen symbol.
import * as vscode from "vscode";
import type { CodekinClient } from "./client";
import { describe, isCancellation } from "./errors";
import { Commands, type Hit, scoreLabel, toLocation, whereLabel } from "./protocol";

const DEBOUNCE_MS = 250;

interface HitPick extends vscode.QuickPickItem {
  hit: Hit;
}

function toPick(hit: Hit): HitPick {
  return {
    label: `$(symbol-${hit.kind === "class" ? "class" : "function"}) ${hit.name}`,
    description: `${scoreLabel(hit.score)} · ${hit.kind} · ${whereLabel(hit)}`,
    alwaysShow: true,
    hit,
  };
}

export async function openHit(hit: Hit): Promise<vscode.TextEditor> {
  const location = toLocation(hit);
  const start = new vscode.Range(location.range.start, location.range.start);
  const editor = await vscode.window.showTextDocument(location.uri, { selection: start });
  editor.revealRange(location.range, vscode.TextEditorRevealType.InCenterIfOutsideViewport);
  return editor;
}

/** One live search session; resolves with the chosen hit (undefined when dismissed). */
export class LiveSearch {
  private readonly pick = vscode.window.createQuickPick<HitPick>();
  private source: vscode.CancellationTokenSource | undefined;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly client: CodekinClient) {
    this.pick.title = "codekin: Search Code";
    this.pick.placeholder = "Describe the code in plain words, e.g. “read settings from an ini file”";
    this.pick.matchOnDescription = false;
    this.pick.matchOnDetail = false;
  }

  run(initial = ""): Promise<Hit | undefined> {
    return new Promise((resolve) => {
      this.pick.onDidChangeValue((value) => this.schedule(value));
      this.pick.onDidAccept(() => {
        const chosen = this.pick.selectedItems[0]?.hit;
        if (chosen) {
          resolve(chosen);
          this.pick.hide();
        }
      });
      this.pick.onDidHide(() => {
        this.stop();
        resolve(undefined);
        this.pick.dispose();
      });
      this.pick.value = initial;
      this.pick.show();
      this.schedule(initial);
    });
  }

  private stop(): void {
    clearTimeout(this.timer);
    this.source?.cancel();
    this.source = undefined;
  }

  private schedule(value: string): void {
    this.stop();
    const query = value.trim();
    if (!query) {
      this.pick.items = [];
      this.pick.busy = false;
      return;
    }
    this.pick.busy = true;
    this.source = new vscode.CancellationTokenSource();
    const token = this.source.token;
    this.timer = setTimeout(() => void this.search(query, token), DEBOUNCE_MS);
  }

  private async search(query: string, token: vscode.CancellationToken): Promise<void> {
    try {
      const hits = await this.client.request<Hit[]>(Commands.searchCode, { query }, token);
      if (token.isCancellationRequested) {
        return;
      }
      this.pick.items = hits.map(toPick);
      this.pick.title = `codekin: Search Code — ${hits.length} for “${query}”`;
    } catch (error) {
      if (!isCancellation(error) && !token.isCancellationRequested) {
        this.pick.items = [];
        this.pick.title = `codekin: Search Code — ${describe(error)}`;
      }
    } finally {
      if (!token.isCancellationRequested) {
        this.pick.busy = false;
      }
    }
  }
}

export async function searchCode(client: CodekinClient, initial?: string): Promise<Hit | undefined> {
  const editor = vscode.window.activeTextEditor;
  const selected = editor && !editor.selection.isEmpty ? editor.document.getText(editor.selection) : "";
  const chosen = await new LiveSearch(client).run(initial ?? selected.slice(0, 200));
  if (chosen) {
    await openHit(chosen);
  }
  return chosen;
}
