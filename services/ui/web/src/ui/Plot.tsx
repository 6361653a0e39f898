import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';

// A uPlot chart that follows its data. uPlot draws on a canvas and sets its sizes through the
// CSSOM (element.style), which the page's CSP allows (no inline style attributes are written).

export interface PlotProps {
  testId: string;
  title: string;
  series: { label: string; stroke: string }[];
  data: number[][];
  /** x values are epoch seconds (true) or plain numbers (stage index). */
  time?: boolean;
  xLabels?: string[];
  /** Draw bars (one group per x) instead of lines. */
  bars?: boolean;
  height?: number;
}

export function Plot({
  testId,
  title,
  series,
  data,
  time = true,
  xLabels,
  bars = false,
  height = 220,
}: PlotProps) {
  const host = useRef<HTMLDivElement>(null);
  const chart = useRef<uPlot | null>(null);
  const shape = `${series.map((s) => s.label).join('|')}|${time}|${bars}|${xLabels?.join('|') ?? ''}`;

  useEffect(() => {
    const el = host.current;
    if (!el) return undefined;
    const options: uPlot.Options = {
      title,
      width: Math.max(320, el.clientWidth || 640),
      height,
      scales: {
        // Numbered slots (bars) get half a slot either side; a time axis with one point alone
        // would stretch over years, so it gets a few minutes around it.
        x: {
          time,
          range: (_u, min, max) =>
            !time ? [min - 0.5, max + 0.5] : min === max ? [min - 300, max + 60] : [min, max],
        },
      },
      series: [
        {},
        ...series.map((s, i) => ({
          label: s.label,
          stroke: s.stroke,
          width: bars ? 1 : 2,
          ...(bars
            ? {
                fill: s.stroke,
                // Side by side within each x: each series takes its share of the slot.
                paths: uPlot.paths.bars!({
                  size: [0.8 / series.length, 60],
                  align: series.length === 1 ? 0 : i === 0 ? -1 : 1,
                }),
              }
            : {}),
        })),
      ],
      axes: [
        xLabels ? { values: (_u, splits) => splits.map((v) => xLabels[v] ?? '') } : {},
        { size: 70 },
      ],
    };
    chart.current = new uPlot(options, data as uPlot.AlignedData, el);
    const resize = () => chart.current?.setSize({ width: Math.max(320, el.clientWidth), height });
    window.addEventListener('resize', resize);
    return () => {
      window.removeEventListener('resize', resize);
      chart.current?.destroy();
      chart.current = null;
    };
    // Rebuilt only when the series change; new data goes through setData below.
  }, [shape]);

  useEffect(() => {
    chart.current?.setData(data as uPlot.AlignedData);
  }, [data]);

  const empty = (data[0]?.length ?? 0) === 0;
  return (
    <figure class="plot" data-testid={testId}>
      <div ref={host} />
      {empty ? <figcaption>{title}: nothing to plot yet.</figcaption> : null}
    </figure>
  );
}
