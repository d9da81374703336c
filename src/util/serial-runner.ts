/**
 * One run of `fn` at a time. A call while it runs asks for one more run once it is over (however
 * many calls came meanwhile), so work signalled during a run is never missed and never done twice
 * at once. `fn` handles its own errors; anything it lets through goes to `onError`.
 */
export function serialRunner(fn: () => Promise<void>, onError: (err: unknown) => void = () => {}): () => void {
  let running = false;
  let again = false;
  const run = (): void => {
    if (running) {
      again = true;
      return;
    }
    running = true;
    again = false;
    void fn().catch(onError).finally(() => {
      running = false;
      if (again) run();
    });
  };
  return run;
}
