// The trade page's open orders (SPEC §4b), kept live: the snapshot lists them, oldest first; an
// `order` event adds one placed elsewhere or takes away one that ended (filled, cancelled,
// expired, rejected), and the status line says which. No request: the event carries the order.
// Each row's Cancel button is a plain form (the page's cancel view), as drawn by the server.

import { groupThousands, money } from "../shared/format.js";

const cell = (tag, text, className) => {
  const node = document.createElement(tag);
  if (text !== undefined) node.textContent = text;
  if (className) node.className = className;
  return node;
};

const REJECTED = {
  insufficient_funds: "not enough cash when it triggered",
  insufficient_shares: "not enough shares when it triggered",
};

export function initOpenOrders(rows, { currency }) {
  const status = document.querySelector('[data-role="orders-status"]');
  const heading = document.getElementById("open-orders-title");
  const csrf = document.querySelector("input[name=csrfmiddlewaretoken]")?.value || "";
  const ended = new Set(); // orders seen ending: an older `open` event never brings them back
  const fills = new Map(); // trade id → trade, from `portfolio` events: the price a fill got

  const named = (order) => `${order.kind} order to ${order.type} ${groupThousands(order.quantity)} ${order.ticker}`;
  const drawn = (id) => rows.querySelector(`tr[data-order="${CSS.escape(id)}"]`);

  function cancelForm(order) {
    const form = cell("form", undefined, "inline");
    form.method = "post";
    form.action = `/trade/orders/${encodeURIComponent(order.id)}/cancel/`;
    const token = cell("input");
    Object.assign(token, { type: "hidden", name: "csrfmiddlewaretoken", value: csrf });
    const button = cell("button", "Cancel", "button small secondary");
    button.type = "submit";
    button.append(cell("span", ` the ${named(order)} at ${groupThousands(order.price)}`, "visually-hidden"));
    form.append(token, button);
    return form;
  }

  function row(order) {
    const tr = cell("tr");
    tr.dataset.order = order.id;
    tr.dataset.createdAt = order.created_at;
    const company = cell("th");
    company.scope = "row";
    company.append(cell("span", order.ticker, "ticker"));
    const what = cell("td");
    const side = cell("span", order.type === "buy" ? "Buy" : "Sell", `side ${order.type}`);
    const until = order.expires === "day" ? "End of the day" : "Until cancelled";
    const held = order.type === "buy" ? money(order.reserved, currency) : `${groupThousands(order.quantity)} shares`;
    // On a phone the figures go under the order (narrow-only), not in columns of their own.
    const figures = `${groupThousands(order.quantity)} at ${groupThousands(order.price)}`;
    const narrow = cell("span", `${figures} · ${until} · holds ${held}`, "narrow-only held-note");
    what.append(side, " ", cell("span", order.kind, "tag"), narrow);
    const action = cell("td");
    action.append(cancelForm(order));
    tr.append(
      company,
      what,
      cell("td", groupThousands(order.quantity), "num wide-only"),
      cell("td", groupThousands(order.price), "num wide-only"),
      cell("td", until, "wide-only"),
      cell("td", held, "num wide-only"),
      action,
    );
    return tr;
  }

  function showEmpty() {
    const empty = rows.querySelector("tr.empty");
    const any = rows.querySelector("tr[data-order]");
    if (any) empty?.remove();
    if (any || empty) return;
    const line = cell("tr", undefined, "empty");
    const only = cell("td", "No open orders. Limit and stop orders wait here until they fill.");
    only.colSpan = 7;
    line.append(only);
    rows.append(line);
  }

  function add(order) {
    const fresh = row(order);
    const old = drawn(order.id);
    if (old) {
      old.replaceWith(fresh);
      return false;
    }
    // Oldest first, as the server lists them.
    const later = [...rows.querySelectorAll("tr[data-created-at]")].find(
      (other) => Date.parse(other.dataset.createdAt) > Date.parse(order.created_at),
    );
    rows.insertBefore(fresh, later || null);
    showEmpty();
    return true;
  }

  function remove(id) {
    const old = drawn(id);
    if (!old) return;
    if (old.contains(document.activeElement)) heading?.focus(); // the focused Cancel button goes away
    old.remove();
    showEmpty();
  }

  function ending(order) {
    const what = `Your ${named(order)} at ${money(order.price, currency)}`;
    if (order.status === "filled") {
      const trade = fills.get(order.transaction);
      const done = order.type === "buy" ? "bought" : "sold";
      return `${what} was filled${trade ? `: ${done} at ${money(trade.price, currency)}` : ""}.`;
    }
    if (order.status === "cancelled") {
      return `${what} was cancelled${order.reason ? ` by the organisers: ${order.reason}` : ""}.`;
    }
    if (order.status === "expired") return `${what} expired at the end of the day.`;
    return `${what} was rejected: ${REJECTED[order.reason] || order.reason || "refused"}.`;
  }

  function say(text) {
    if (status) status.textContent = text;
  }

  // One cancel per button: a double click sends one request (a second would only hear that the
  // order is no longer open).
  rows.addEventListener("submit", (event) => {
    const form = event.target;
    if (form.dataset.sending === "1") {
      event.preventDefault();
      return;
    }
    form.dataset.sending = "1";
    const button = form.querySelector("button");
    button.disabled = true;
    button.firstChild.textContent = "Cancelling…";
  });

  return {
    snapshot(orders) {
      rows.replaceChildren(...orders.filter((order) => !ended.has(order.id)).map(row));
      showEmpty();
    },
    order(order) {
      if (order.status === "open") {
        if (!ended.has(order.id) && add(order)) say(`New ${named(order)} at ${money(order.price, currency)}: open.`);
        return;
      }
      ended.add(order.id);
      remove(order.id);
      say(ending(order));
    },
    trade(trade) {
      if (trade?.order) fills.set(trade.id, trade);
    },
  };
}
