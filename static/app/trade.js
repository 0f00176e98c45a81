// The order form: total, fee and the cash that results, worked out as the team types, in exact
// cents (BigInt), rounded half-up like the server. The server still decides; this only informs.

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

export function initTrade(form, { currency }) {
  const select = form.querySelector("select[name=ticker]");
  const quantity = form.querySelector("input[name=quantity]");
  const expected = form.querySelector("[data-role=expected-price]");
  const expectedFor = form.querySelector("[data-role=expected-for]");
  const submit = form.querySelector("[data-role=submit]");
  const warning = form.querySelector("[data-role=warning]");
  const field = (name) => form.querySelector(`[data-role="${name}"]`);
  const lot = Number(form.dataset.lotSize) || 1;

  const side = () => form.querySelector("input[name=type]:checked")?.value || "buy";
  const option = () => select.selectedOptions[0];

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

  function showPriceNotice(chosen) {
    const notice = field("price-notice");
    const moved = chosen.dataset.price !== expected.value;
    notice.hidden = !moved;
    if (moved) {
      field("price-notice-text").textContent =
        `The price of ${chosen.value} is now ${money(chosen.dataset.price, currency)} ` +
        `(you saw ${money(expected.value, currency)}). An order at the old price will be refused.`;
    }
  }

  function update() {
    const chosen = option();
    if (!chosen) return;
    const price = seenPrice(chosen);
    const held = Number(chosen.dataset.held || 0);
    showPriceNotice(chosen);
    field("price").textContent = money(price, currency);
    document.querySelectorAll("[data-role=held]").forEach((node) => (node.textContent = groupThousands(held)));
    document.querySelectorAll("[data-role=held-ticker]").forEach((node) => (node.textContent = chosen.value));
    field("cash-label").textContent = side() === "buy" ? "Cash after" : "Cash after the sale";

    const text = quantity.value.trim();
    const valid = /^\d{1,10}$/.test(text) && Number(text) >= 1 && Number(text) % lot === 0;
    if (!valid) {
      for (const name of ["total", "fee", "cash-after"]) field(name).textContent = "—";
      warn(text ? (lot > 1 ? `Enter a whole number of shares in lots of ${lot}.` : "Enter a whole number of shares.") : "");
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
    if (side() === "buy" && !figures.enough) {
      warn(`Not enough cash: you have ${money(form.dataset.cash, currency)} and need ${money(figures.cost, currency)}.`);
    } else if (side() === "sell" && Number(text) > held) {
      warn(`Not enough shares: you have ${groupThousands(held)} ${chosen.value} and want to sell ${groupThousands(text)}.`);
    } else {
      warn("");
    }
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
      form.dataset.cash = data.cash;
      const held = new Map(data.holdings.map((holding) => [holding.ticker, holding.quantity]));
      for (const node of select.options) node.dataset.held = String(held.get(node.value) || 0);
      document.querySelectorAll("[data-role=team-cash]").forEach((node) => (node.textContent = money(data.cash, currency)));
      update();
    },
  };
}
