// Compare: VS Code's diff editor on the text of two symbols (virtual documents of their ranges),
// titled with what codekin.compareSimilar found: the similarity and the renames.
import * as path from "path";
import * as vscode from "vscode";
import type { CodekinClient } from "./client";
import { showError } from "./errors";
import { Commands, type Comparison, type Hit, renamesLabel, scoreLabel, toLocation } from "./protocol";

export const SCHEME = "codekin-compare";

/** The two sides' texts, by virtual URI; a side stays until its diff editor is closed. */
export class CompareDocuments implements vscode.TextDocumentContentProvider, vscode.Disposable {
  private readonly texts = new Map<string, string>();
  private next = 0;
  private readonly closed: vscode.Disposable;

  constructor() {
    this.closed = vscode.workspace.onDidCloseTextDocument((document) => {
      if (document.uri.scheme === SCHEME) {
        this.texts.delete(document.uri.toString());
      }
    });
  }

  /** A URI whose file name keeps the symbol's extension, so that the side is highlighted. */
  add(hit: Hit, text: string): vscode.Uri {
    const extension = path.extname(vscode.Uri.parse(hit.uri).path);
    const where = vscode.workspace.asRelativePath(vscode.Uri.parse(hit.uri), false);
    const uri = vscode.Uri.from({
      scheme: SCHEME,
      path: `/${hit.name}${extension}`,
      query: `${this.next++}&from=${encodeURIComponent(where)}`,
    });
    this.texts.set(uri.toString(), text);
    return uri;
  }

  provideTextDocumentContent(uri: vscode.Uri): string {
    return this.texts.get(uri.toString()) ?? "";
  }

  dispose(): void {
    this.closed.dispose();
    this.texts.clear();
  }
}

/** What one comparison showed (the end-to-end check records it). */
export interface CompareShown {
  title: string;
  comparison: Comparison;
  left: string;
  right: string;
}

async function textOf(hit: Hit): Promise<string> {
  const location = toLocation(hit);
  const document = await vscode.workspace.openTextDocument(location.uri);
  return document.getText(location.range);
}

export function compareTitle(comparison: Comparison): string {
  const { a, b, similarity, renames } = comparison;
  const renamed = renames.length ? ` · renamed ${renamesLabel(renames, 3)}` : "";
  return `${a.name} ↔ ${b.name} (${scoreLabel(similarity)})${renamed}`;
}

function summary(comparison: Comparison): string {
  const parts = [`similarity ${scoreLabel(comparison.similarity)}`];
  if (comparison.renames.length) {
    parts.push(`renames: ${renamesLabel(comparison.renames, 8)}`);
  }
  if (comparison.values.length) {
    parts.push(`${comparison.values.length} changed literal${comparison.values.length === 1 ? "" : "s"}`);
  }
  const lines = comparison.onlyInA.length + comparison.onlyInB.length + comparison.changed.length;
  parts.push(lines ? `${lines} line${lines === 1 ? "" : "s"} differ` : "no line differs once renamed");
  return `${comparison.a.name} ↔ ${comparison.b.name}: ${parts.join("; ")}`;
}

export class Comparer {
  private readonly listeners: ((shown: CompareShown) => void)[] = [];

  constructor(
    private readonly client: CodekinClient,
    private readonly documents: CompareDocuments,
  ) {}

  onShown(listener: (shown: CompareShown) => void): void {
    this.listeners.push(listener);
  }

  /** The symbol at `uri`/`position` beside `other`, in the diff editor. */
  async compare(uri: string, position: { line: number; character: number }, other: Hit): Promise<void> {
    let comparison: Comparison;
    try {
      comparison = await this.client.request<Comparison>(Commands.compareSimilar, {
        uri,
        position,
        other: { uri: other.uri, range: other.range },
      });
    } catch (error) {
      showError("Compare", error);
      return;
    }
    const left = this.documents.add(comparison.a, await textOf(comparison.a));
    const right = this.documents.add(comparison.b, await textOf(comparison.b));
    const title = compareTitle(comparison);
    await vscode.commands.executeCommand("vscode.diff", left, right, title, { preview: true });
    void vscode.window.showInformationMessage(summary(comparison));
    const shown = { title, comparison, left: left.toString(), right: right.toString() };
    this.listeners.forEach((listener) => listener(shown));
  }
}
