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
  const text = String(amount);
  return text.startsWith("-") ? "▼ " + text.slice(1) : (Number(text) === 0 ? "■ " : "▲ ") + text;
}

export function direction(amount) {
  const text = String(amount);
  if (text.startsWith("-")) return "down";
  return /[1-9]/.test(text) ? "up" : "flat";
}

export function countdown(untilIso, now = Date.now()) {
  const left = Math.max(0, Math.floor((Date.parse(untilIso) - now) / 1000));
  const h = Math.floor(left / 3600);
  const m = Math.floor((left % 3600) / 60);
  const s = left % 60;
  const two = (n) => String(n).padStart(2, "0");
  return (h ? h + ":" + two(m) : String(m)) + ":" + two(s);
}
