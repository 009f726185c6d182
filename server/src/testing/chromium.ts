import { existsSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium, type BrowserContext, type Page } from "playwright-core";
import { tempDir } from "./temp-dir.js";

/** Debian's Chromium (scripts/setup-system installs it); no browser is ever downloaded. */
export const CHROMIUM_PATH = "/usr/bin/chromium";

/** Where screenshots of failed browser tests go. */
export const SCREENSHOT_DIR = fileURLToPath(new URL("../../../reports/inspector/", import.meta.url));

export function chromiumAvailable(): { available: boolean; why: string } {
  return existsSync(CHROMIUM_PATH) ? { available: true, why: "" } : { available: false, why: `${CHROMIUM_PATH} is missing (scripts/setup-system installs Debian's chromium)` };
}

/** Quiet, offline, headless: no sandbox (tests run as root), no GPU, no QUIC, no background traffic. */
const FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"];

export interface Chromium {
  readonly context: BrowserContext;
  newPage(): Promise<Page>;
  close(): Promise<void>;
}

/** A headless Chromium with a fresh profile (--user-data-dir), driven by playwright-core. */
export async function launchChromium(): Promise<Chromium> {
  const profile = await tempDir("oma-chromium-");
  const context = await chromium.launchPersistentContext(profile.path, { executablePath: CHROMIUM_PATH, headless: true, args: FLAGS, viewport: { width: 1280, height: 900 } });
  return {
    context,
    newPage: () => context.newPage(),
    async close() {
      await context.close();
      await profile.remove();
    },
  };
}

/**
 * Runs a browser test step; when it fails, the page is saved as a screenshot (reports/
 * inspector/<name>.png) and its console output is added to the error, then the failure goes on.
 */
export async function withScreenshot<T>(page: Page, name: string, run: () => Promise<T>): Promise<T> {
  const console: string[] = [];
  page.on("console", (m) => console.push(`${m.type()}: ${m.text()}`));
  try {
    return await run();
  } catch (err) {
    await mkdir(SCREENSHOT_DIR, { recursive: true });
    const path = join(SCREENSHOT_DIR, `${name.replace(/[^a-z0-9-]+/gi, "-")}.png`);
    await page.screenshot({ path, fullPage: true }).catch(() => undefined);
    if (err instanceof Error) err.message += `\n(screenshot: ${path}; page console:\n  ${console.slice(-20).join("\n  ")})`;
    throw err;
  }
}
