// Money arrives as decimal strings ("12345.50"): formatted as text, never through a float.

export function groupThousands(amount) {
  const text = String(amount);
  const negative = text.startsWith("-");
  const [whole, cents] = text.replace(/^[-+]/, "").split(".");
  const grouped = whole.replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  return (negative ? "-" : "") + grouped + (cents !== undefined ? "." + cents : "");
}

export function money(amount, currency) {
  return (currency ? currency + " " : "") + groupThousands(amount);
}

export function signed(amount) {
  // An arrow beside every colour: colour is never the only sign of up or down.
  const text = String(amount).replace(/^\+/, "");
  const arrows = { up: "▲ ", down: "▼ ", flat: "■ " };
  return arrows[direction(text)] + groupThousands(text.replace(/^-/, ""));
}

export function direction(amount) {
  const text = String(amount);
  if (!/[1-9]/.test(text)) return "flat";
  return text.startsWith("-") ? "down" : "up";
}

export function countdown(untilIso, now = Date.now()) {
  const left = Math.max(0, Math.floor((Date.parse(untilIso) - now) / 1000));
  const h = Math.floor(left / 3600);
  const m = Math.floor((left % 3600) / 60);
  const s = left % 60;
  const two = (n) => String(n).padStart(2, "0");
  return (h ? h + ":" + two(m) : String(m)) + ":" + two(s);
}
