/**
 * A one-line progress bar for the CLI. Hand-written: it is a dozen lines, and the libraries for
 * this bring terminal handling we do not need. Redraws only on a TTY; elsewhere prints a line per
 * 10% so logs stay readable.
 */
export function progressLine(out: NodeJS.WriteStream) {
  const tty = Boolean(out.isTTY);
  let lastDecile = -1;
  let shown = false;
  return {
    update(fraction: number, stage?: string) {
      const pct = Math.round(fraction * 100);
      if (tty) {
        const width = 30;
        const filled = Math.round(fraction * width);
        out.write(`\r[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${String(pct).padStart(3)}% ${(stage ?? '').slice(0, 40).padEnd(40)}`);
        shown = true;
      } else if (Math.floor(pct / 10) !== lastDecile) {
        lastDecile = Math.floor(pct / 10);
        out.write(`${pct}% ${stage ?? ''}\n`);
      }
    },
    log(line: string) {
      if (tty && shown) out.write('\r\x1b[K');
      out.write(`${line}\n`);
    },
    done() {
      if (tty && shown) out.write('\n');
      shown = false;
    },
  };
}
