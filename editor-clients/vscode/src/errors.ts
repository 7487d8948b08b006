// How a failed request is told: a cancelled one not at all, the server's "no symbol there" as a
// warning with its own words, anything else as an error.
import * as vscode from "vscode";
import { ErrorCodes, LSPErrorCodes, ResponseError } from "vscode-languageclient";

export function isCancellation(error: unknown): boolean {
  return (
    error instanceof vscode.CancellationError ||
    (error instanceof ResponseError && error.code === LSPErrorCodes.RequestCancelled)
  );
}

export function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

export function showError(what: string, error: unknown): void {
  if (isCancellation(error)) {
    return;
  }
  if (error instanceof ResponseError && error.code === ErrorCodes.InvalidParams) {
    void vscode.window.showWarningMessage(`codekin: ${describe(error).replace(/^Invalid Params: /, "")}`);
    return;
  }
  void vscode.window.showErrorMessage(`codekin: ${what} failed: ${describe(error)}`);
}
