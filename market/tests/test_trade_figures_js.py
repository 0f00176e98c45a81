"""The trade page's live total, fee and cash (static/app/trade.js, exact cents in BigInt) agree
with the server's figures to the cent, for many random orders; and its "fills at once" hint with
the server's rule for a waiting order (market/services/book.py condition_holds)."""

import json
import random
import shutil
import subprocess
from decimal import Decimal

import pytest

from market.money import money
from market.services.book import condition_holds
from overlay.tests.servers import ROOT

SCRIPT = """
const { orderFigures } = await import(process.argv[1]);
const cases = JSON.parse(require("fs").readFileSync(0, "utf8"));
console.log(JSON.stringify(cases.map(orderFigures)));
"""


def server_figures(case: dict) -> dict:
    total = Decimal(case["price"]) * int(case["quantity"])
    rate = Decimal(case["buyRate"] if case["side"] == "buy" else case["sellRate"])
    fee = money(total * rate)
    cash = Decimal(case["cash"])
    after = cash - total - fee if case["side"] == "buy" else cash + total - fee
    return {
        "total": str(money(total)),
        "fee": str(fee),
        "cost": str(money(total + fee)),
        "cashAfter": str(money(after)),
        "enough": after >= 0,
    }


def test_the_page_and_the_server_agree_on_every_figure():
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is missing: `make install` needs Node.js for the front-end libraries")
    rng = random.Random(20261125)
    cases = []
    for _ in range(2000):
        cases.append(
            {
                "price": f"{rng.randint(1, 99_999_999) / 100:.2f}",
                "quantity": str(rng.choice([1, 7, 100, rng.randint(1, 1_000_000), 1_000_000_000])),
                "side": rng.choice(["buy", "sell"]),
                "buyRate": f"{rng.choice([0, 1, 15, 2500, 333_333, rng.randint(0, 1_000_000)]) / 1_000_000:.6f}",
                "sellRate": f"{rng.choice([0, 1, 15, 2500, rng.randint(0, 1_000_000)]) / 1_000_000:.6f}",
                "cash": f"{rng.randint(0, 10_000_000_000) / 100:.2f}",
            }
        )
    module = (ROOT / "static" / "app" / "trade.js").as_uri()
    result = subprocess.run(
        [node, "--input-type=module", "-e", SCRIPT.replace('require("fs")', '(await import("node:fs"))'), module],
        input=json.dumps(cases),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    page = json.loads(result.stdout)
    mismatches = [(case, got) for case, got in zip(cases, page, strict=True) if got != server_figures(case)]
    assert mismatches == [], mismatches[:3]


FILLS_NOW = """
const { fillsNow } = await import(process.argv[1]);
const cases = JSON.parse((await import("node:fs")).readFileSync(0, "utf8"));
console.log(JSON.stringify(cases.map(fillsNow)));
"""


def test_the_page_says_an_order_fills_at_once_exactly_when_the_server_would_fill_it():
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is missing: `make install` needs Node.js for the front-end libraries")
    prices = ["0.01", "9.49", "9.50", "9.51", "10.00", "12345.67"]
    cases = [
        {"side": side, "kind": kind, "limit": limit, "current": current}
        for side in ("buy", "sell")
        for kind in ("limit", "stop")
        for limit in prices
        for current in prices
    ]
    module = (ROOT / "static" / "app" / "trade.js").as_uri()
    result = subprocess.run(
        [node, "--input-type=module", "-e", FILLS_NOW, module],
        input=json.dumps(cases),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    page = json.loads(result.stdout)
    server = [
        condition_holds(side=c["side"], kind=c["kind"], limit=Decimal(c["limit"]), price=Decimal(c["current"]))
        for c in cases
    ]
    assert page == server
