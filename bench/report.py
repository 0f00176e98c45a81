"""The table of figures every scenario adds to, and the checks they share."""

from dataclasses import dataclass

import redis

from bench import data
from bench.environment import ENV
from bench.load import Run


@dataclass
class Row:
    scenario: str
    figure: str
    value: str
    baseline: str
    target: str
    met: bool | None  # None: reported, no target


ROWS: list[Row] = []


def row(scenario, figure, value, baseline="", target="", met=None) -> None:
    ROWS.append(Row(scenario, figure, value, baseline, target, met))
    mark = {True: "met", False: "MISSED", None: ""}[met]
    print(f"  {figure:<34} {value:>14}  {baseline:>14}  {target:<22} {mark}", flush=True)


def ms(value: float) -> str:
    return f"{value:.1f} ms"


def fresh_event(companies: int) -> list:
    data.reset()
    redis.Redis.from_url(ENV["REDIS_URL"]).flushdb()
    return data.companies(companies)


def errors_and_ledger(scenario: str, runs: list[Run], ledger: data.Ledger) -> None:
    errors = [line for run in runs for line in run.errors]
    row(scenario, "errors", str(len(errors)), "", "0", not errors)
    for line in errors[:5]:
        print(f"    {line}")
    row(
        scenario,
        "ledger exact (teams)",
        f"{ledger.teams - len(ledger.wrong)}/{ledger.teams}",
        "",
        "all",
        not ledger.wrong,
    )
    for line in ledger.wrong[:5]:
        print(f"    {line}")
