// The history page's first page, kept live from the team's own events: each `portfolio` event
// carries the trade that caused it (new, or now reversed); a trade that filled a waiting order
// carries its `order`, and that order's `order` event says what kind it was (the row's mark).

import { groupThousands } from "../shared/format.js";

const HISTORY_PAGE = 25;

const cell = (tag, text, className) => {
  const node = document.createElement(tag);
  if (text !== undefined) node.textContent = text;
  if (className) node.className = className;
  return node;
};

export function initHistory(table, { timezone }) {
  const rows = table.querySelector('[data-role="trade-rows"]');
  const onFirstPage = () => (table.dataset.pageNumber || "1") === "1";
  const kinds = new Map(); // order id → "limit" | "stop", from the `order` events seen
  const timeFormat = new Intl.DateTimeFormat("en-GB", {
    timeZone: timezone,
    day: "numeric",
    month: "short",
    hour: "2-digit",
    minute: "2-digit",
    second: "2-digit",
  });

  function markTag(tag, orderId) {
    const kind = kinds.get(orderId);
    tag.textContent = kind ? `${kind} order` : "from order";
    tag.title = kind ? `Filled by your ${kind} order` : "Filled by one of your waiting orders";
  }

  function orderTag(orderId) {
    const tag = cell("span", undefined, "tag order-tag");
    tag.dataset.order = orderId;
    markTag(tag, orderId);
    return tag;
  }

  function tradeRow(trade) {
    const row = cell("tr");
    row.dataset.trade = trade.id;
    const when = cell("time", timeFormat.format(new Date(trade.created_at)).replace(",", ""));
    when.dateTime = trade.created_at;
    const time = cell("td");
    time.append(when);
    const side = cell("td");
    side.append(cell("span", trade.type === "buy" ? "Buy" : "Sell", `side ${trade.type}`));
    if (trade.order) side.append(" ", orderTag(trade.order));
    if (trade.reversed_at) {
      side.append(" ", cell("span", "reversed", "tag"));
      row.className = "reversed";
    }
    row.append(
      time,
      cell("td", String(trade.day)),
      side,
      cell("td", trade.ticker),
      cell("td", groupThousands(trade.quantity), "num"),
      cell("td", groupThousands(trade.price), "num"),
      cell("td", groupThousands(trade.total), "num"),
      cell("td", groupThousands(trade.fee), "num"),
    );
    return row;
  }

  return {
    show(trade) {
      if (!trade || !onFirstPage()) return;
      const drawn = rows.querySelector(`tr[data-trade="${CSS.escape(trade.id)}"]`);
      if (drawn) {
        drawn.replaceWith(tradeRow(trade));
        return;
      }
      if (trade.reversed_at) return; // an older trade reversed, not on this page: nothing new to show
      rows.querySelector("tr.empty")?.remove();
      rows.prepend(tradeRow(trade));
      while (rows.children.length > HISTORY_PAGE) rows.lastElementChild.remove();
    },
    order(order) {
      if (order.status !== "filled") return;
      kinds.set(order.id, order.kind);
      const tags = rows.querySelectorAll(`.order-tag[data-order="${CSS.escape(order.id)}"]`);
      for (const tag of tags) markTag(tag, order.id);
    },
    // After the page was offline, the trades the team made meanwhile (on another device) are read
    // again, once, if its portfolio says anything changed: not on every reconnect of every page.
    async refresh(getJSON) {
      if (!onFirstPage()) return;
      const data = await getJSON("/api/transactions");
      if (!data) return;
      const fresh = data.results.slice(0, HISTORY_PAGE).map(tradeRow);
      if (fresh.length) rows.replaceChildren(...fresh);
    },
  };
}
