/**
 * Renders Vega-Lite specs to SVG text in Node: compile to Vega, run a headless view,
 * serialise. vega and vega-lite are loaded on first use, so importing the package
 * does not pay for them.
 */
import type { View } from 'vega';
import type { TopLevelSpec } from 'vega-lite';

/** Named error for a plot that could not be compiled or rendered, with the plot's name. */
export class ReportRenderError extends Error {
  override readonly name = 'ReportRenderError';
  constructor(
    readonly plot: string,
    options?: { cause?: unknown },
  ) {
    super(`could not render plot "${plot}": ${String((options?.cause as Error | undefined)?.message ?? options?.cause)}`, options);
  }
}

/**
 * Makes the ids inside one SVG (clip paths, gradients) unique within a page: Vega
 * numbers them from 1 in every SVG, and several inline SVGs in one HTML document
 * would otherwise point at each other's definitions.
 */
export function prefixSvgIds(svg: string, prefix: string): string {
  return svg
    .replace(/\bid="([^"]+)"/g, `id="${prefix}-$1"`)
    .replace(/url\(#([^)]+)\)/g, `url(#${prefix}-$1)`)
    .replace(/href="#([^"]+)"/g, `href="#${prefix}-$1"`);
}

/**
 * Rounds coordinates in path data and transforms to 2 decimals (a hundredth of a
 * pixel): Vega writes full double precision, which triples the size of dense plots.
 */
export function compactSvg(svg: string): string {
  return svg.replace(/\b(d|transform)="([^"]*)"/g, (_, attr: string, value: string) => {
    const short = value.replace(/-?\d+\.\d{3,}(?:e-?\d+)?/g, (n) => String(Math.round(Number(n) * 100) / 100));
    return `${attr}="${short}"`;
  });
}

/** SVG text of a Vega-Lite spec, rendered headless (no browser, no canvas, no network). */
export async function renderSvg(name: string, spec: TopLevelSpec): Promise<string> {
  let view: View | undefined;
  try {
    const vega = await import('vega');
    const { compile } = await import('vega-lite');
    const { spec: vgSpec } = compile(spec, { logger: vega.logger(vega.Error) });
    view = new vega.View(vega.parse(vgSpec), { renderer: 'none', logLevel: vega.Error });
    return await view.toSVG();
  } catch (cause) {
    throw new ReportRenderError(name, { cause });
  } finally {
    view?.finalize();
  }
}
