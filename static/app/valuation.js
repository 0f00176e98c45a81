// A team's portfolio revalued at new prices on the page itself, exactly as the server values it
// (market/selectors.py portfolio_of): a price change then costs the server no request from every
// holder's screen. Value = quantity × price; unrealised P/L = value − cost (quantity × average
// cost, sent unrounded), half-up to cents; total = cash + Σ value; return % = (total − starting
// cash) × 100 ÷ starting cash, half-up to two places. The rank comes from the server (`rank`).

import { divideHalfUp, fromUnits, toUnits } from "../shared/decimal.js";

const cents = (text) => toUnits(text, 2);
const money = (units) => fromUnits(units, 2);

function revalued(holding, price) {
  const value = cents(price) * BigInt(holding.quantity);
  const result = { ...holding, price: money(cents(price)), value: money(value) };
  if (holding.cost !== undefined) {
    result.unrealized_pl = money(divideHalfUp(value * 100n - toUnits(holding.cost, 4), 100n));
  }
  return result;
}

// `prices`: ticker → price (decimal string). Holdings of other tickers stay as they are.
export function revalue(portfolio, prices) {
  if (!portfolio.holdings.some((holding) => prices.has(holding.ticker))) return portfolio;
  const holdings = portfolio.holdings.map((holding) =>
    prices.has(holding.ticker) ? revalued(holding, prices.get(holding.ticker)) : holding,
  );
  const held = holdings.reduce((sum, holding) => sum + cents(holding.value), 0n);
  const total = cents(portfolio.cash) + held;
  const start = cents(portfolio.starting_cash);
  const returnPct = start === 0n ? 0n : divideHalfUp((total - start) * 100n * 100n, start);
  return {
    ...portfolio,
    holdings,
    holdings_value: money(held),
    total_value: money(total),
    return_pct: money(returnPct),
  };
}
