// Docs for Symbol: codekin.lookupDocs' documentation units for the symbol under the cursor in a
// quick pick (the section's text as detail); the chosen one opens at its section.
import * as vscode from "vscode";
import type { CodekinClient } from "./client";
import { showError } from "./errors";
import { Commands, type DocHit, scoreLabel, whereLabel } from "./protocol";
import { openHit } from "./search";

interface DocPick extends vscode.QuickPickItem {
  doc: DocHit;
}

function firstLines(text: string, limit = 160): string {
  const flat = text.replace(/^#+\s*/gm, "").replace(/\s+/g, " ").trim();
  return flat.length > limit ? `${flat.slice(0, limit - 1)}…` : flat;
}

function toPick(doc: DocHit): DocPick {
  return {
    label: `$(${doc.kind === "section" ? "book" : "comment"}) ${doc.name}`,
    description: `${scoreLabel(doc.score)} · ${whereLabel(doc)}`,
    detail: firstLines(doc.text),
    doc,
  };
}

export async function lookupDocs(client: CodekinClient): Promise<DocHit | undefined> {
  const editor = vscode.window.activeTextEditor;
  if (!editor) {
    void vscode.window.showInformationMessage("codekin: open a file and put the cursor on a symbol.");
    return undefined;
  }
  const position = editor.selection.active;
  const argument = {
    uri: editor.document.uri.toString(),
    position: { line: position.line, character: position.character },
  };
  let docs: DocHit[];
  try {
    docs = await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Window, title: "codekin: looking up docs" },
      () => client.request<DocHit[]>(Commands.lookupDocs, argument),
    );
  } catch (error) {
    showError("Docs for Symbol", error);
    return undefined;
  }
  if (docs.length === 0) {
    void vscode.window.showInformationMessage("codekin: no documentation found for this symbol.");
    return undefined;
  }
  const chosen = await vscode.window.showQuickPick(docs.map(toPick), {
    title: "codekin: Docs for Symbol",
    placeHolder: "Documentation about the symbol, best match first",
    matchOnDetail: true,
  });
  if (chosen) {
    await openHit(chosen.doc);
  }
  return chosen?.doc;
}
