// A bell made in the browser with Web Audio: a few decaying partials of a struck bell.
// If the page may not play sound yet (autoplay rules), it stays silent; the banner still shows.

let context = null;

export function ringBell() {
  try {
    context = context || new AudioContext();
    if (context.state === "suspended") context.resume().catch(() => {});
    const now = context.currentTime;
    const master = context.createGain();
    master.gain.value = 0.35;
    master.connect(context.destination);
    for (const [ratio, level, seconds] of [
      [1, 1, 2.6],
      [2.0, 0.55, 1.8],
      [2.76, 0.4, 1.4],
      [5.4, 0.2, 0.9],
    ]) {
      const oscillator = context.createOscillator();
      const gain = context.createGain();
      oscillator.frequency.value = 660 * ratio;
      gain.gain.setValueAtTime(level, now);
      gain.gain.exponentialRampToValueAtTime(0.0001, now + seconds);
      oscillator.connect(gain).connect(master);
      oscillator.start(now);
      oscillator.stop(now + seconds);
    }
    return true;
  } catch {
    return false;
  }
}
