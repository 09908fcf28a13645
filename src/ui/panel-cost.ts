// What the device panels' live sampling costs: the script time of every render (reading the
// counters, updating the tables, drawing the charts), summed over all panels of the page. The
// benchmark reads it through window.v86msi.panelCost to put a figure on the charts' cost that
// host noise cannot blur. Layout and paint that follow a render are the browser's, not counted.

export interface PanelCost {
  /** Renders done (all panels). */
  renders: number;
  /** Milliseconds of script spent in them. */
  scriptMs: number;
}

export const panelCost: PanelCost = { renders: 0, scriptMs: 0 };

/** Runs one render and books its time. */
export function measured(render: () => void): void {
  const t0 = performance.now();
  try {
    render();
  } finally {
    panelCost.renders++;
    panelCost.scriptMs += performance.now() - t0;
  }
}
