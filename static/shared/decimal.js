// Exact decimal arithmetic on the decimal strings the server sends ("1234.50"), in BigInt: a float
// never touches money. Rounding is half-up (away from zero on a tie), like market/money.py.

export function toUnits(text, places) {
  const raw = String(text).trim();
  const negative = raw.startsWith("-");
  const [whole, fraction = ""] = raw.replace(/^[-+]/, "").split(".");
  const digits = (fraction + "0".repeat(places)).slice(0, places);
  const units = BigInt(whole || "0") * 10n ** BigInt(places) + BigInt(digits || "0");
  return negative ? -units : units;
}

export function fromUnits(units, places) {
  const negative = units < 0n;
  const absolute = negative ? -units : units;
  const scale = 10n ** BigInt(places);
  const fraction = places ? "." + String(absolute % scale).padStart(places, "0") : "";
  return (negative ? "-" : "") + String(absolute / scale) + fraction;
}

export function divideHalfUp(numerator, denominator) {
  const negative = numerator < 0n !== denominator < 0n;
  const n = numerator < 0n ? -numerator : numerator;
  const d = denominator < 0n ? -denominator : denominator;
  let quotient = n / d;
  if ((n % d) * 2n >= d) quotient += 1n;
  return negative ? -quotient : quotient;
}
