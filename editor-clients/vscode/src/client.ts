// The language client: start, stop and restart the server, and the middleware that turns the
// server's lens command into VS Code's references peek and sends only the settings a user set.
import * as vscode from "vscode";
import {
  ExecuteCommandRequest,
  LanguageClient,
  type LanguageClientOptions,
  type Middleware,
  RevealOutputChannelOn,
  type ServerOptions,
  State,
  type WorkDoneProgressBegin,
  type WorkDoneProgressEnd,
  type WorkDoneProgressReport,
} from "vscode-languageclient/node";
import { Commands } from "./protocol";
import { INSTALL_HELP, resolveServerCommand, type ServerCommand } from "./serverCommand";
import { SECTION, contributedKeys, explicitSettings, serverSettings } from "./settings";

/** The languages codekin indexes (code and documentation); other files are not sent. */
const LANGUAGES = [
  "python", "javascript", "javascriptreact", "typescript", "typescriptreact", "go", "rust", "java",
  "c", "cpp", "csharp", "ruby", "php", "markdown", "restructuredtext",
];

export type ProgressValue = WorkDoneProgressBegin | WorkDoneProgressReport | WorkDoneProgressEnd;
export type ClientState = "starting" | "running" | "stopped" | "not found";

export class CodekinClient implements vscode.Disposable {
  readonly log: vscode.LogOutputChannel;
  private client: LanguageClient | undefined;
  private starting: Promise<void> | undefined;
  private serverCommand: ServerCommand | undefined;
  private readonly progressEmitter = new vscode.EventEmitter<ProgressValue>();
  private readonly stateEmitter = new vscode.EventEmitter<ClientState>();
  /** Every work-done progress value of the server (indexing), begin to end. */
  readonly onProgress = this.progressEmitter.event;
  readonly onState = this.stateEmitter.event;
  state: ClientState = "stopped";

  constructor(private readonly extension: vscode.Extension<unknown>) {
    this.log = vscode.window.createOutputChannel("codekin", { log: true });
  }

  get running(): boolean {
    return this.client?.state === State.Running;
  }

  get command(): ServerCommand | undefined {
    return this.serverCommand;
  }

  get languageClient(): LanguageClient | undefined {
    return this.client;
  }

  private setState(state: ClientState): void {
    this.state = state;
    this.stateEmitter.fire(state);
  }

  async start(): Promise<void> {
    this.starting ??= this.doStart().finally(() => (this.starting = undefined));
    return this.starting;
  }

  private async doStart(): Promise<void> {
    const settings = serverSettings();
    this.serverCommand = resolveServerCommand(settings.command);
    if (!this.serverCommand) {
      this.log.error(INSTALL_HELP);
      this.setState("not found");
      void showNotFound();
      return;
    }
    const { command, args, source } = this.serverCommand;
    this.log.info(`starting ${[command, ...args].join(" ")} (from ${source})`);
    this.setState("starting");
    // stdio pipes; no `transport`, which would append a second `--stdio` to the arguments
    const serverOptions: ServerOptions = {
      command,
      args,
      options: {
        cwd: vscode.workspace.workspaceFolders?.[0]?.uri.fsPath,
        env: { ...process.env, ...settings.env },
      },
    };
    this.client = new LanguageClient(SECTION, "codekin", serverOptions, this.clientOptions());
    try {
      await this.client.start();
      this.setState("running");
    } catch (error) {
      this.log.error(`the server did not start: ${String(error)}`);
      this.setState("stopped");
      void showStartFailed(this.log, String(error));
    }
  }

  async stop(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    if (client) {
      try {
        await client.stop(5000);
      } catch (error) {
        this.log.warn(`stopping the server: ${String(error)}`);
      }
      await client.dispose();
    }
    this.setState("stopped");
  }

  async restart(): Promise<void> {
    await this.starting;
    await this.stop();
    await this.start();
  }

  /** workspace/executeCommand with one object argument, cancelled with the token. */
  async request<T>(command: string, argument: object, token?: vscode.CancellationToken): Promise<T> {
    await this.starting;
    const client = this.client;
    if (!client || client.state !== State.Running) {
      throw new Error(this.state === "not found" ? INSTALL_HELP : "codekin's language server is not running");
    }
    const params = { command, arguments: [argument] };
    return (await client.sendRequest(ExecuteCommandRequest.type, params, token)) as T;
  }

  private clientOptions(): LanguageClientOptions {
    return {
      documentSelector: LANGUAGES.map((language) => ({ scheme: "file", language })),
      outputChannel: this.log,
      revealOutputChannelOn: RevealOutputChannelOn.Never,
      initializationOptions: explicitSettings(contributedKeys(this.extension)),
      synchronize: { configurationSection: SECTION },
      middleware: this.middleware(),
      initializationFailedHandler: (error) => {
        this.log.error(`initialize failed: ${String(error)}`);
        return false;
      },
    };
  }

  private middleware(): Middleware {
    const keys = contributedKeys(this.extension);
    return {
      executeCommand: async (command, args, next) => {
        if (command === Commands.showSimilar) {
          return this.showSimilar(args);
        }
        if (command === Commands.reindex && args.length === 0) {
          args = [{}]; // from the command palette: every folder
        }
        return next(command, args);
      },
      workspace: {
        configuration: async (params, token, next) => {
          const answer = await next(params, token);
          if (!Array.isArray(answer)) {
            return answer;
          }
          return params.items.map((item, index) =>
            item.section === SECTION
              ? explicitSettings(keys, item.scopeUri ? vscode.Uri.parse(item.scopeUri) : undefined)
              : answer[index],
          );
        },
      },
      handleWorkDoneProgress: (token, params, next) => {
        next(token, params);
        this.progressEmitter.fire(params);
      },
    };
  }

  /** The lens command `[uri, position, locations]`: VS Code's references peek at the symbol. */
  private async showSimilar(args: unknown[]): Promise<void> {
    const client = this.client;
    const [uri, position, locations] = args as [string, { line: number; character: number }, []];
    if (!client || typeof uri !== "string" || !Array.isArray(locations)) {
      return;
    }
    const p2c = client.protocol2CodeConverter;
    await vscode.commands.executeCommand(
      "editor.action.showReferences",
      p2c.asUri(uri),
      p2c.asPosition(position),
      locations.map((location) => p2c.asLocation(location)),
    );
    this.showSimilarListeners.forEach((listener) => listener(uri, locations));
  }

  private readonly showSimilarListeners: ((uri: string, locations: unknown[]) => void)[] = [];

  /** Called after each lens click (the end-to-end check records them). */
  onShowSimilar(listener: (uri: string, locations: unknown[]) => void): void {
    this.showSimilarListeners.push(listener);
  }

  dispose(): void {
    void this.stop();
    this.progressEmitter.dispose();
    this.stateEmitter.dispose();
    this.log.dispose();
  }
}

async function showNotFound(): Promise<void> {
  const install = "How to install";
  const settings = "Open Settings";
  const choice = await vscode.window.showErrorMessage(INSTALL_HELP, install, settings);
  if (choice === install) {
    await vscode.commands.executeCommand("codekin.howToInstall");
  } else if (choice === settings) {
    await vscode.commands.executeCommand("workbench.action.openSettings", "codekin.server.command");
  }
}

async function showStartFailed(log: vscode.LogOutputChannel, error: string): Promise<void> {
  const choice = await vscode.window.showErrorMessage(`codekin's server did not start: ${error}`, "Show Log");
  if (choice) {
    log.show();
  }
}
