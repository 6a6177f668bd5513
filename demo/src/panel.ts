// What the demo's panels (train-panel.ts, tfjs-panel.ts, join-panel.ts) share: element lookup,
// controls preset from URL parameters, a panel's status (its section's data-status, which the
// end-to-end tests wait on, the progress line, and the controls locked while it runs) and report
// lines that carry their numbers in data-value.

/** A panel section's data-status. */
export type PanelStatus = 'idle' | 'running' | 'done' | 'error';

export const $ = <T extends Element>(selector: string) => document.querySelector<T>(selector)!;

/** Sets each control (by id) whose URL parameter is given: `presets` pairs parameter and control id. */
export function presetControls(params: URLSearchParams, presets: readonly (readonly [string, string])[]): void {
  for (const [param, id] of presets) {
    const value = params.get(param);
    if (value !== null) $<HTMLInputElement | HTMLSelectElement>(`#${id}`).value = value;
  }
}

/** The status setter of a panel: the section's data-status, the progress text, and the form's controls and buttons locked while running. */
export function panelStatus(section: HTMLElement, form: HTMLFormElement, progress: HTMLElement, startButton: HTMLButtonElement, stopButton: HTMLButtonElement): (status: PanelStatus, text: string) => void {
  return (status, text) => {
    section.dataset.status = status;
    progress.textContent = text;
    for (const control of form.querySelectorAll<HTMLInputElement | HTMLSelectElement>('input, select')) control.disabled = status === 'running';
    startButton.disabled = status === 'running';
    stopButton.disabled = status !== 'running';
  };
}

/** A report line (dt, dd): the dd carries `field` in data-field and `value` in data-value. */
export function reportLine(field: string, term: string, text: string, value: number | string): HTMLElement[] {
  const dt = document.createElement('dt');
  dt.textContent = term;
  const dd = document.createElement('dd');
  dd.textContent = text;
  dd.dataset.field = field;
  dd.dataset.value = String(value);
  return [dt, dd];
}
