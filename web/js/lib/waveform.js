/**
 * Waveforms drawn from the audio itself: the file is decoded by the browser (WebAudio
 * `decodeAudioData`, any format the browser plays) and each canvas column shows the lowest and
 * highest sample of its slice of time, over all channels.
 */

let decoder = null;

/** Decodes audio bytes. An OfflineAudioContext needs no user gesture and plays nothing. */
export async function decodeAudio(arrayBuffer) {
  decoder ??= new OfflineAudioContext({ numberOfChannels: 1, length: 1, sampleRate: 44100 });
  return decoder.decodeAudioData(arrayBuffer);
}

/** Min/max per column: `Float32Array(columns * 2)` as [min0, max0, min1, max1, …]. */
export function peaks(audio, columns) {
  const out = new Float32Array(columns * 2);
  const n = audio.length;
  const chans = Array.from({ length: audio.numberOfChannels }, (_, c) => audio.getChannelData(c));
  for (let col = 0; col < columns; col++) {
    const start = Math.floor((col * n) / columns), end = Math.max(start + 1, Math.floor(((col + 1) * n) / columns));
    let lo = 0, hi = 0;
    for (const d of chans) {
      for (let i = start; i < end && i < n; i++) {
        const v = d[i];
        if (v < lo) lo = v;
        else if (v > hi) hi = v;
      }
    }
    out[col * 2] = lo;
    out[col * 2 + 1] = hi;
  }
  return out;
}

/** Draws peaks onto a canvas sized to its CSS box (sharp on high-density screens). */
export function drawPeaks(canvas, p, color) {
  const dpr = window.devicePixelRatio || 1;
  const w = Math.max(1, Math.round(canvas.clientWidth * dpr)), hgt = Math.max(1, Math.round(canvas.clientHeight * dpr));
  canvas.width = w;
  canvas.height = hgt;
  const ctx = canvas.getContext('2d');
  ctx.clearRect(0, 0, w, hgt);
  ctx.fillStyle = color;
  const cols = p.length / 2;
  const mid = hgt / 2;
  for (let x = 0; x < w; x++) {
    // Every peak column under this pixel counts: picking one would alias (a tone would look quieter).
    const c0 = Math.min(cols - 1, Math.floor((x * cols) / w)), c1 = Math.max(c0 + 1, Math.floor(((x + 1) * cols) / w));
    let lo = 0, hi = 0;
    for (let c = c0; c < c1 && c < cols; c++) { if (p[c * 2] < lo) lo = p[c * 2]; if (p[c * 2 + 1] > hi) hi = p[c * 2 + 1]; }
    const y0 = Math.round(mid - Math.min(1, hi) * mid), y1 = Math.round(mid - Math.max(-1, lo) * mid);
    ctx.fillRect(x, y0, 1, Math.max(1, y1 - y0)); // at least one pixel: silence shows as a line
  }
}
