// Charts on the team pages, drawn with Chart.js (installed from npm, served as a static file).
// Prices stay decimal strings everywhere else; a chart only needs their position on a line.

const ACCENT = "#4F46E5";

function chartLibrary() {
  return window.Chart || null;
}

function lineChart(canvas, { labels, values, label }) {
  const Chart = chartLibrary();
  if (!Chart) return null; // the library failed to load: the page still works without the chart
  return new Chart(canvas, {
    type: "line",
    data: {
      labels,
      datasets: [
        {
          label,
          data: values,
          borderColor: ACCENT,
          backgroundColor: "rgba(79, 70, 229, 0.08)",
          fill: true,
          pointRadius: values.length > 40 ? 0 : 3,
          tension: 0,
          stepped: label === "Price" ? "before" : false,
        },
      ],
    },
    options: {
      animation: false,
      maintainAspectRatio: false,
      interaction: { mode: "index", intersect: false },
      plugins: { legend: { display: false } },
      scales: { x: { ticks: { maxTicksLimit: 8, autoSkip: true } }, y: { ticks: { maxTicksLimit: 6 } } },
    },
  });
}

export function priceChart(canvas, data, { timezone }) {
  const timeFormat = new Intl.DateTimeFormat("en-GB", {
    timeZone: timezone,
    hour: "2-digit",
    minute: "2-digit",
    second: "2-digit",
  });
  const series = {
    intraday: data.intraday.map((point) => ({ label: timeFormat.format(new Date(point.at)), price: point.price })),
    daily: data.daily.map((point) => ({ label: point.label, price: point.price })),
  };
  let range = "intraday";
  const chart = lineChart(canvas, { labels: [], values: [], label: "Price" });

  function draw() {
    if (!chart) return;
    chart.data.labels = series[range].map((point) => point.label);
    chart.data.datasets[0].data = series[range].map((point) => Number(point.price));
    chart.data.datasets[0].pointRadius = series[range].length > 40 ? 0 : 3;
    chart.update("none");
  }

  draw();
  return {
    show(name) {
      range = name;
      draw();
    },
    // The bell: a new day starts its own "today" and its own point in the daily view; a close
    // leaves the day's last price as its close.
    bell(action, day, price, at) {
      if (action !== "start_day") return;
      series.intraday = [{ label: timeFormat.format(new Date(at)), price }];
      series.daily.push({ label: `Day ${day}`, price });
      draw();
    },
    // A live change: a new point today and, while a day is open, that day's latest price.
    add(price, at, dayOpen) {
      series.intraday.push({ label: timeFormat.format(new Date(at)), price });
      if (dayOpen && series.daily.length) series.daily[series.daily.length - 1] = { ...series.daily.at(-1), price };
      draw();
    },
  };
}

export function valueChart(canvas, points) {
  const chart = lineChart(canvas, {
    labels: points.map((point) => point.label),
    values: points.map((point) => Number(point.value)),
    label: "Value",
  });
  return {
    now(value) {
      if (!chart) return;
      chart.data.datasets[0].data[chart.data.datasets[0].data.length - 1] = Number(value);
      chart.update("none");
    },
  };
}
