// The answers of codekin's workspace/executeCommand commands, as the server sends them (README:
// "The language server"), and the conversions to VS Code's types.
import * as vscode from "vscode";
import type * as lsp from "vscode-languageclient";

export const Commands = {
  findSimilar: "codekin.findSimilar",
  findDuplicates: "codekin.findDuplicates",
  compareSimilar: "codekin.compareSimilar",
  searchCode: "codekin.searchCode",
  lookupDocs: "codekin.lookupDocs",
  reindex: "codekin.reindex",
  status: "codekin.status",
  showSimilar: "codekin.showSimilar",
} as const;

/** Clone kinds, strongest first; `null` in an answer means "similar, not a copy". */
export type CloneKind = "exact" | "renamed" | "near-miss" | "semantic" | "cross-language";

/** One symbol found by findSimilar or searchCode. */
export interface Hit {
  uri: string;
  range: lsp.Range;
  name: string;
  kind: string;
  score: number;
  clone?: CloneKind | null;
}

/** A documentation unit found by lookupDocs. */
export interface DocHit extends Hit {
  text: string;
}

export interface CloneMember extends Hit {
  exact: boolean;
}

export interface ClonePair {
  a: number;
  b: number;
  kind: CloneKind;
  score: number;
}

/** A clone class of findDuplicates. */
export interface CloneClass {
  score: number;
  kind: CloneKind;
  kinds: Partial<Record<CloneKind, number>>;
  members: CloneMember[];
  pairs: ClonePair[];
}

export interface Change {
  before: string;
  after: string;
  count: number;
}

/** compareSimilar: the two symbols aligned token by token. */
export interface Comparison {
  a: Hit;
  b: Hit;
  similarity: number;
  renames: Change[];
  values: Change[];
  onlyInA: unknown[];
  onlyInB: unknown[];
  changed: unknown[];
  diff: string;
}

export interface FolderStatus {
  uri: string;
  indexing: boolean;
  error: string | null;
  files: number;
  units: number;
  pending: number;
  lastUpdate: string | null;
  indexPath: string | null;
}

export interface Status {
  model: string | null;
  reason: string | null;
  device: string | null;
  worker: string | null;
  problem: string | null;
  files: number;
  units: number;
  pending: number;
  indexing: boolean;
  lastUpdate: string | null;
  indexPath: string | null;
  folders: FolderStatus[];
}

export function toUri(uri: string): vscode.Uri {
  return vscode.Uri.parse(uri, true);
}

export function toRange(range: lsp.Range): vscode.Range {
  return new vscode.Range(range.start.line, range.start.character, range.end.line, range.end.character);
}

export function toLocation(hit: Pick<Hit, "uri" | "range">): vscode.Location {
  return new vscode.Location(toUri(hit.uri), toRange(hit.range));
}

/** `vscode.open` arguments that put the cursor at the start of a hit. */
export function openArgs(hit: Pick<Hit, "uri" | "range">): [vscode.Uri, vscode.TextDocumentShowOptions] {
  const location = toLocation(hit);
  const start = location.range.start;
  return [location.uri, { selection: new vscode.Range(start, start) }];
}

/** The first line of a symbol: where its name is, for commands that take a position. */
export function startOf(hit: Pick<Hit, "range">): lsp.Position {
  return { line: hit.range.start.line, character: hit.range.start.character };
}

/** `geometry/shapes.py:8`: workspace-relative path and 1-based line. */
export function whereLabel(hit: Pick<Hit, "uri" | "range">): string {
  const path = vscode.workspace.asRelativePath(toUri(hit.uri), false);
  return `${path}:${hit.range.start.line + 1}`;
}

export function scoreLabel(score: number): string {
  return score.toFixed(2);
}

/** "renamed copy" / "similar": what a hit is to the symbol asked about. */
export function cloneLabel(clone: CloneKind | null | undefined): string {
  return clone ? `${clone} copy` : "similar";
}

/** "1 exact, 2 renamed" from a class's kinds. */
export function kindsLabel(kinds: Partial<Record<CloneKind, number>>): string {
  return Object.entries(kinds)
    .map(([kind, count]) => `${count} ${kind}`)
    .join(", ");
}

/** "corners → points, acc → total": the renames of a comparison, at most `limit`. */
export function renamesLabel(renames: Change[], limit = 4): string {
  const shown = renames.slice(0, limit).map((r) => `${r.before} → ${r.after}`);
  const more = renames.length - shown.length;
  return more > 0 ? `${shown.join(", ")} and ${more} more` : shown.join(", ");
}

const SYMBOL_ICONS: Record<string, string> = {
  function: "symbol-function",
  method: "symbol-method",
  class: "symbol-class",
  section: "symbol-text",
  docstring: "book",
  comment: "comment",
};

export function symbolIcon(kind: string): vscode.ThemeIcon {
  return new vscode.ThemeIcon(SYMBOL_ICONS[kind] ?? "symbol-misc");
}
