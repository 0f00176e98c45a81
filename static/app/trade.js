// The order form: total, fee and the cash that results, worked out as the team types, in exact
// cents (BigInt), rounded half-up like the server. The server still decides; this only informs.
// A market order is figured at the current price; a limit or stop order at the team's own price
// (what a buy holds until it fills: SPEC §4b), from the cash not already held by open orders.

import { fromUnits, toUnits } from "../shared/decimal.js";
import { groupThousands, money } from "../shared/format.js";

const RATE_PLACES = 6;
const toCents = (text) => toUnits(text, 2);
const fromCents = (cents) => fromUnits(cents, 2);

export function orderFigures({ price, quantity, side, buyRate, sellRate, cash }) {
  const total = toCents(price) * BigInt(quantity);
  const rate = toUnits(side === "buy" ? buyRate : sellRate, RATE_PLACES);
  const scale = 10n ** BigInt(RATE_PLACES);
  const fee = (total * rate + scale / 2n) / scale; // half-up on a positive amount
  const cashAfter = side === "buy" ? toCents(cash) - total - fee : toCents(cash) + total - fee;
  return {
    total: fromCents(total),
    fee: fromCents(fee),
    cost: fromCents(total + fee),
    cashAfter: fromCents(cashAfter),
    enough: cashAfter >= 0n,
  };
}

const PRICE = /^\d{1,12}(\.\d{1,2})?$/;

// Whether a waiting order would fill at once at `current` (market/services/book.py condition_holds).
export function fillsNow({ side, kind, limit, current }) {
  const rises = (kind === "limit") === (side === "sell");
  const [mine, now] = [toCents(limit), toCents(current)];
  return rises ? now >= mine : now <= mine;
}

export function initTrade(form, { currency }) {
  const select = form.querySelector("select[name=ticker]");
  const quantity = form.querySelector("input[name=quantity]");
  const ownPrice = form.querySelector("input[name=price]");
  const expected = form.querySelector("[data-role=expected-price]");
  const expectedFor = form.querySelector("[data-role=expected-for]");
  const submit = form.querySelector("[data-role=submit]");
  const warning = form.querySelector("[data-role=warning]");
  const field = (name) => form.querySelector(`[data-role="${name}"]`);
  const lot = Number(form.dataset.lotSize) || 1;

  const side = () => form.querySelector("input[name=type]:checked")?.value || "buy";
  const kind = () => form.querySelector("input[name=kind]:checked")?.value || "market";
  const option = () => select.selectedOptions[0];
  const all = (name) => document.querySelectorAll(`[data-role="${name}"]`);

  function warn(text) {
    warning.textContent = text;
    warning.hidden = !text;
  }

  // The order expects the price the team has seen. A live change does not slip into it: the
  // team is told, and takes the new price with a click (else the server refuses the order).
  function seenPrice(chosen) {
    if (expectedFor.value !== chosen.value) {
      expected.value = chosen.dataset.price; // another company picked: its price is on screen now
      expectedFor.value = chosen.value;
    }
    return expected.value;
  }

  function showPriceNotice(chosen, waiting) {
    const notice = field("price-notice");
    const moved = !waiting && chosen.dataset.price !== expected.value;
    notice.hidden = !moved;
    if (moved) {
      field("price-notice-text").textContent =
        `The price of ${chosen.value} is now ${money(chosen.dataset.price, currency)} ` +
        `(you saw ${money(expected.value, currency)}). An order at the old price will be refused.`;
    }
  }

  function showHeld(chosen) {
    const held = Number(chosen.dataset.held || 0);
    const byOrders = Number(chosen.dataset.heldByOrders || 0);
    all("held").forEach((node) => (node.textContent = groupThousands(held)));
    all("held-ticker").forEach((node) => (node.textContent = chosen.value));
    all("held-by-orders").forEach((node) => (node.textContent = groupThousands(byOrders)));
    all("held-by-orders-note").forEach((node) => (node.hidden = !byOrders));
    return { free: held - byOrders, byOrders };
  }

  function clearFigures(text) {
    for (const name of ["total", "fee", "cash-after"]) field(name).textContent = "—";
    warn(text);
  }

  function shortOf(figures, shares, waiting, chosen, wanted) {
    const [cash, cost] = [money(form.dataset.cash, currency), money(figures.cost, currency)];
    const held = /[1-9]/.test(form.dataset.reserved || "0");
    if (side() === "buy" && !figures.enough) {
      if (waiting) return `Not enough cash: this order needs ${cost} and you have ${cash} free.`;
      return `Not enough cash: you have ${cash}${held ? " free" : ""} and need ${cost}.`;
    }
    if (side() === "sell" && Number(wanted) > shares.free) {
      const free = `${groupThousands(shares.free)} ${chosen.value}${shares.byOrders ? " free" : ""}`;
      if (waiting) return `Not enough shares: you have ${free} to sell and the order needs ${groupThousands(wanted)}.`;
      return `Not enough shares: you have ${free} and want to sell ${groupThousands(wanted)}.`;
    }
    return "";
  }

  function update() {
    const chosen = option();
    if (!chosen) return;
    const waiting = kind() !== "market";
    const price = waiting ? ownPrice.value.trim() : seenPrice(chosen);
    const shares = showHeld(chosen);
    showPriceNotice(chosen, waiting);
    field("price-label").textContent = waiting ? "Your price" : "Price";
    field("cash-label").textContent =
      side() === "sell" ? "Cash after the sale" : waiting ? "Free cash after" : "Cash after";
    const validPrice = PRICE.test(price) && toCents(price) > 0n;
    field("price").textContent = validPrice ? money(price, currency) : "—";
    const due = () => fillsNow({ side: side(), kind: kind(), limit: price, current: chosen.dataset.price });
    field("fills-now").hidden = !(waiting && validPrice && due());

    const text = quantity.value.trim();
    const valid = /^\d{1,10}$/.test(text) && Number(text) >= 1 && Number(text) % lot === 0;
    if (!valid) {
      const whole = lot > 1 ? `Enter a whole number of shares in lots of ${lot}.` : "Enter a whole number of shares.";
      clearFigures(text ? whole : "");
      return;
    }
    if (!validPrice) {
      clearFigures(price ? "Enter your price as a number with at most 2 decimals (for example 9.50)." : "");
      return;
    }
    const figures = orderFigures({
      price,
      quantity: text,
      side: side(),
      buyRate: form.dataset.buyFeeRate,
      sellRate: form.dataset.sellFeeRate,
      cash: form.dataset.cash,
    });
    field("total").textContent = money(figures.total, currency);
    field("fee").textContent = money(figures.fee, currency);
    field("cash-after").textContent = money(figures.cashAfter, currency);
    warn(shortOf(figures, shares, waiting, chosen, text));
  }

  field("accept-price").addEventListener("click", () => {
    expected.value = option().dataset.price;
    update();
    quantity.focus();
  });
  form.addEventListener("input", update);
  form.addEventListener("change", update);
  form.addEventListener("submit", (event) => {
    // One order per form: a second click while the first is on its way sends nothing (and the
    // server would answer it with the first order's result anyway: the form carries one key).
    if (form.dataset.sending === "1") {
      event.preventDefault();
      return;
    }
    form.dataset.sending = "1";
    submit.disabled = true;
    submit.textContent = "Placing order…";
  });
  // A form restored by the back button carries a used key: fetch a fresh one.
  window.addEventListener("pageshow", (event) => event.persisted && location.reload());
  update();

  return {
    quote(company) {
      const match = [...select.options].find((node) => node.value === company.ticker);
      if (!match) return;
      match.dataset.price = company.price;
      match.textContent = `${company.ticker} · ${company.name} · ${groupThousands(company.price)}`;
      update();
    },
    portfolio(data) {
      form.dataset.cash = data.available_cash ?? data.cash;
      form.dataset.reserved = data.reserved_cash ?? "0";
      const held = new Map(data.holdings.map((holding) => [holding.ticker, holding]));
      for (const node of select.options) {
        node.dataset.held = String(held.get(node.value)?.quantity || 0);
        node.dataset.heldByOrders = String(held.get(node.value)?.reserved_quantity || 0);
      }
      update();
    },
  };
}
