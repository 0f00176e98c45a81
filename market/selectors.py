"""Reads that are more than one ORM line. Each runs a fixed number of queries, whatever the size."""

from datetime import datetime
from decimal import Decimal

from django.db import connection
from django.db.models import Count, F, Q, QuerySet, Window
from django.db.models.functions import RowNumber

from common import sql
from market.models import Company, DailyValue, Holding, Participant, PricePoint, TradingDay
from market.money import money, percent

# SPEC §3: value, then the earlier last trade (teams that never traded after), then team name.
LEADERBOARD_ORDER = [F("portfolio_value").desc(), F("last_trade_at").asc(nulls_last=True), F("display_name").asc()]


def leaderboard() -> QuerySet:
    """Every team with its `rank`, best first."""
    return Participant.objects.annotate(rank=Window(RowNumber(), order_by=LEADERBOARD_ORDER)).order_by(
        *LEADERBOARD_ORDER
    )


def leaderboard_entry(participant: Participant) -> dict:
    return {
        "rank": participant.rank,
        "display_name": participant.display_name,
        "school": participant.school,
        "total_value": participant.portfolio_value,
        "return_pct": percent(participant.portfolio_value - participant.starting_cash, participant.starting_cash),
        "trades": participant.trade_count,
    }


_RANK = """
    SELECT COUNT(*) + 1 FROM participants
     WHERE portfolio_value > %(value)s
        OR (portfolio_value = %(value)s AND ({earlier}
            OR ({same_time} AND display_name < %(name)s)))
"""


def participant_rank(participant: Participant) -> int:
    """1 + the teams ahead in LEADERBOARD_ORDER, counted in one query (by the team's stored value)."""
    last_trade = participant.last_trade_at
    if last_trade is None:
        earlier, same_time = "last_trade_at IS NOT NULL", "last_trade_at IS NULL"
    else:
        earlier, same_time = "last_trade_at < %(time)s", "last_trade_at = %(time)s"
    params = {
        "value": participant.portfolio_value,
        "name": participant.display_name,
        "time": sql.db_time(last_trade) if last_trade else None,
    }
    with connection.cursor() as cursor:
        cursor.execute(_RANK.format(earlier=earlier, same_time=same_time), params)
        return cursor.fetchone()[0]


_RANKS = """
    SELECT id, position FROM (
        SELECT id, ROW_NUMBER() OVER (
            ORDER BY portfolio_value DESC, last_trade_at ASC NULLS LAST, display_name ASC) AS position
          FROM participants) ranked
     WHERE id IN ({teams})
"""


def ranks_of(team_ids: list) -> dict:
    """The rank of each of these teams (by id), in LEADERBOARD_ORDER: one query for many (a
    batch of fills), where participant_rank counts for one."""
    if not team_ids:
        return {}
    ids = [sql.db_id(Participant, pk) for pk in team_ids]
    with connection.cursor() as cursor:
        cursor.execute(_RANKS.format(teams=", ".join(["%s"] * len(ids))), ids)
        return {sql.as_uuid(pk): position for pk, position in cursor.fetchall()}


def portfolio(participant: Participant) -> dict:
    """Cash, holdings at current prices, totals, return and rank: three queries."""
    team = Participant.objects.get(pk=participant.pk)
    holdings = [
        {
            "ticker": holding.company.ticker,
            "name": holding.company.name,
            "quantity": holding.quantity,
            "reserved_quantity": holding.reserved_quantity,
            "average_cost": holding.average_cost,
            "price": holding.company.current_price,
        }
        for holding in Holding.objects.filter(participant=team, quantity__gt=0).select_related("company")
    ]  # portfolio_of puts them in ticker order
    return portfolio_of(team, holdings)


def portfolio_of(team: Participant, holdings: list[dict], *, rank: int | None = None) -> dict:
    """The portfolio of `team` as read, from its holdings (`ticker`, `name`, `quantity`,
    `reserved_quantity`, `average_cost`, `price`; in ticker order; empty ones are left out): one
    query, the rank (none with `rank` given). What open orders hold is shown beside what is free
    (SPEC §4b)."""
    rows = []
    holdings_value = Decimal("0.00")
    for holding in holdings:
        if holding["quantity"] <= 0:
            continue
        value = holding["price"] * holding["quantity"]
        holdings_value += value
        rows.append(
            {
                "ticker": holding["ticker"],
                "name": holding["name"],
                "quantity": holding["quantity"],
                "reserved_quantity": holding.get("reserved_quantity", 0),
                "average_cost": money(holding["average_cost"]),
                "price": holding["price"],
                "value": value,
                "cost": holding["average_cost"] * holding["quantity"],
                "unrealized_pl": money(value - holding["average_cost"] * holding["quantity"]),
            }
        )
    rows.sort(key=lambda row: row["ticker"])
    total = team.cash + holdings_value
    return {
        "cash": team.cash,
        "reserved_cash": team.reserved_cash,
        "available_cash": team.cash - team.reserved_cash,
        "starting_cash": team.starting_cash,
        "holdings": rows,
        "holdings_value": holdings_value,
        "total_value": total,
        "return_pct": percent(total - team.starting_cash, team.starting_cash),
        "rank": participant_rank(team) if rank is None else rank,
        "as_of": team.updated_at,
    }


def market_state() -> dict:
    """`status`, `day` (the open day, else the last one that opened, else 0), `opened_at`, `closes_at`."""
    day = TradingDay.objects.filter(opened_at__isnull=False).order_by("-number").first()
    is_open = day is not None and day.closed_at is None
    return {
        "status": "open" if is_open else "closed",
        "day": day.number if day else 0,
        "opened_at": day.opened_at if is_open else None,
        "closes_at": day.scheduled_close_at if is_open else None,
    }


def company_history(company: Company) -> QuerySet:
    return PricePoint.objects.filter(company=company).order_by("at").values("price", "at", "day")


CHART_POINTS = 500


def day_closes(
    history: list[tuple[datetime, Decimal]], days: list[tuple[int, datetime | None]]
) -> list[Decimal | None]:
    """Each day's close from a company's (time, price) history, oldest first: its last price at or
    before the closing bell; for a day still open, its latest price; None before the listing."""
    closes: list[Decimal | None] = []
    position, last = 0, None
    for _number, closed_at in days:
        if closed_at is None:
            closes.append(history[-1][1] if history else None)
            continue
        while position < len(history) and history[position][0] <= closed_at:
            last = history[position][1]
            position += 1
        closes.append(last)
    return closes


def price_chart(company: Company) -> dict:
    """A company's chart, two ways. `daily`: the listing price, then the close of each day (the
    latest price for a day still open). `intraday`: the price when the current (or last) day
    opened, then every change since (the last CHART_POINTS)."""
    days = list(TradingDay.objects.filter(opened_at__isnull=False).order_by("number"))
    history = list(PricePoint.objects.filter(company=company).order_by("at").values_list("at", "price"))
    daily = [{"label": "Listed", "price": str(history[0][1])}] if history else []
    closes = day_closes(history, [(day.number, day.closed_at) for day in days])
    daily += [
        {"label": f"Day {day.number}", "price": str(close)} for day, close in zip(days, closes, strict=True) if close
    ]
    since = days[-1].opened_at if days else None
    if since is None:
        intraday = history
    else:
        opening = [(since, price) for at, price in history if at < since][-1:]
        intraday = opening + [(at, price) for at, price in history if at >= since]
    return {
        "daily": daily,
        "intraday": [{"at": at.isoformat(), "price": str(price)} for at, price in intraday[-CHART_POINTS:]],
    }


def value_chart(participant: Participant) -> list[dict]:
    """The team's value: starting cash, its value at the close of each day, and now."""
    closes = participant.daily_values.order_by("day").values_list("day", "value")
    points = [{"label": "Start", "value": str(participant.starting_cash)}]
    points += [{"label": f"Day {day}", "value": str(value)} for day, value in closes]
    points.append({"label": "Now", "value": str(participant.portfolio_value)})
    return points


def daily_ranks(participant: Participant) -> list[dict]:
    """The team's place at each day's close: its value then, the day's return (against the close
    before, or its starting cash), and its rank among every team that day (value, then name), in
    one counting query a day."""
    rows = []
    before = participant.starting_cash
    for day, value in participant.daily_values.order_by("day").values_list("day", "value"):
        counts = DailyValue.objects.filter(day=day).aggregate(
            teams=Count("pk"),
            ahead=Count(
                "pk",
                filter=Q(value__gt=value) | Q(value=value, participant__display_name__lt=participant.display_name),
            ),
        )
        rows.append(
            {
                "day": day,
                "value": value,
                "day_return_pct": percent(value - before, before) if before else Decimal("0.00"),
                "rank": counts["ahead"] + 1,
                "teams": counts["teams"],
            }
        )
        before = value
    return rows
