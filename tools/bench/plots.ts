// Render Vega-Lite specs to SVG in Node (vega's headless "none" renderer: no browser, no
// canvas), and the SVGs to PNG with the headless Chromium the tests already use
// (playwright-core + /usr/bin/chromium) when it is there.
import { existsSync, writeFileSync } from "node:fs";

/** SVG text of a Vega-Lite spec. */
export async function toSvg(spec: Record<string, unknown>): Promise<string> {
  // vega is ESM with top-level await: load it with import(), not require().
  const vega = await import("vega");
  // vega-lite's types need "bundler" module resolution: typed here by hand.
  const vlName = "vega-lite";
  const vl = (await import(vlName)) as { compile: (spec: never) => { spec: import("vega").Spec } };
  const compiled = vl.compile(spec as never).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: "none" });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

export const CHROMIUM = "/usr/bin/chromium";

/** Screenshots of SVG files as PNG (2× scale); returns the PNGs written, none without Chromium. */
export async function svgsToPng(files: { svg: string; png: string }[]): Promise<string[]> {
  if (!existsSync(CHROMIUM) || files.length === 0) return [];
  const { chromium } = await import("playwright-core");
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox"] });
  try {
    const page = await browser.newPage({ deviceScaleFactor: 2 });
    const written: string[] = [];
    for (const f of files) {
      const { readFileSync } = await import("node:fs");
      await page.setContent(
        `<html><body style="margin:0;background:white">${readFileSync(f.svg, "utf8")}</body></html>`,
      );
      const png = await page.locator("svg").first().screenshot();
      writeFileSync(f.png, png);
      written.push(f.png);
    }
    return written;
  } finally {
    await browser.close();
  }
}
