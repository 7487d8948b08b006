// Driving the VS Code workbench in Chromium: waiting for elements by their text, real mouse
// clicks at an element's box (a code lens needs one), the context menu (in a shadow root) and
// quick inputs.
import * as fs from "node:fs";

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Poll `check` (returning a value or null) until it gives a value. */
export async function until(what, seconds, check) {
  const deadline = Date.now() + seconds * 1000;
  let last;
  for (;;) {
    try {
      const value = await check();
      if (value !== null && value !== undefined && value !== false) {
        return value;
      }
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${seconds} s waiting for ${what}${last ? ` (${last.message})` : ""}`);
    }
    await sleep(200);
  }
}

/** The centre of the first element matching `selector` whose text contains `text`, or null. */
export async function boxOf(page, selector, text) {
  return page.evaluate(
    (selector, text) => {
      const element = [...document.querySelectorAll(selector)].find(
        (node) => node.textContent.includes(text) && node.getBoundingClientRect().width > 0,
      );
      if (!element) {
        return null;
      }
      const rect = element.getBoundingClientRect();
      return { x: rect.x + rect.width / 2, y: rect.y + rect.height / 2 };
    },
    selector,
    text,
  );
}

/** The text of the first element matching `selector` whose text contains `text`. */
export function textOf(page, selector, text) {
  return page.evaluate(
    (selector, text) =>
      [...document.querySelectorAll(selector)].map((node) => node.innerText ?? node.textContent).find((t) => t.includes(text)) ??
      null,
    selector,
    text,
  );
}

/** Right-click at `box`, then pick the context menu's item labelled `label` (it lives in a shadow root). */
export async function contextMenu(page, box, label) {
  await page.mouse.click(box.x, box.y, { button: "right" });
  const item = await until(`context menu item “${label}”`, 10, async () => {
    for (const handle of await page.$$("pierce/.action-menu-item")) {
      const text = await handle.evaluate((node) => node.textContent);
      if (text.includes(label)) {
        return handle;
      }
      await handle.dispose();
    }
    return null;
  });
  const rect = await item.boundingBox();
  await page.mouse.move(rect.x + rect.width / 2, rect.y + rect.height / 2);
  await sleep(150);
  await page.mouse.click(rect.x + rect.width / 2, rect.y + rect.height / 2);
}

/** Rows of the quick input (command palette or a quick pick) as text. */
export function quickRows(page) {
  return page.evaluate(() =>
    [...document.querySelectorAll(".quick-input-widget .monaco-list-row")].map((row) => row.innerText.replace(/\s+/g, " ")),
  );
}

/** F1, the command's title, wait for its row, Enter. */
export async function runCommand(page, title) {
  await page.keyboard.press("F1");
  await page.waitForSelector(".quick-input-widget .quick-input-box input", { visible: true, timeout: 10000 });
  await page.keyboard.type(title, { delay: 5 });
  await until(`palette row “${title}”`, 15, async () => (await quickRows(page)).find((row) => row.includes(title)));
  await sleep(150);
  await page.keyboard.press("Enter");
}

/** The rows of a view pane (`title`: its header) as text. */
export function paneRows(page, title) {
  return page.evaluate((title) => {
    const pane = [...document.querySelectorAll(".pane")].find((node) =>
      node.querySelector(".pane-header")?.textContent.toLowerCase().includes(title.toLowerCase()),
    );
    return pane ? [...pane.querySelectorAll(".monaco-list-row")].map((row) => row.innerText.replace(/\s+/g, " ")) : null;
  }, title);
}

/** Hover the row of pane `title` that contains `text` and click its inline action `action`. */
export async function rowAction(page, title, text, action) {
  const row = await until(`row “${text}” in ${title}`, 20, () =>
    page.evaluate(
      (title, text) => {
        const pane = [...document.querySelectorAll(".pane")].find((node) =>
          node.querySelector(".pane-header")?.textContent.toLowerCase().includes(title.toLowerCase()),
        );
        const row = pane && [...pane.querySelectorAll(".monaco-list-row")].find((node) => node.textContent.includes(text));
        if (!row) {
          return null;
        }
        row.setAttribute("data-e2e", "row");
        const rect = row.getBoundingClientRect();
        return { x: rect.x + rect.width / 3, y: rect.y + rect.height / 2 };
      },
      title,
      text,
    ),
  );
  await page.mouse.move(row.x, row.y);
  await sleep(300);
  const button = await until(`inline action “${action}”`, 10, () =>
    boxOf(page, `[data-e2e="row"] .actions .action-label[aria-label^="${action}"]`, ""),
  );
  await page.mouse.click(button.x, button.y);
}

/** The extension's report file, once `ready(report)` holds. */
export function report(file, what, seconds, ready) {
  return until(what, seconds, () => {
    if (!fs.existsSync(file)) {
      return null;
    }
    const data = JSON.parse(fs.readFileSync(file, "utf8"));
    return ready(data) ? data : null;
  });
}

export function event(data, name) {
  return [...(data.events ?? [])].reverse().find((item) => item.name === name) ?? null;
}
