"""Who won: the final standings, the schools' standings and each day's winners. One computation for
the results workbook and the stream's scenes (the podium is the workbook's top three), ties broken
as SPEC §3 says: value, then the earlier last trade, then the team's name."""

from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal

from market import selectors
from market.models import DailyValue, Participant
from market.money import percent

PODIUM = 3


def standings(limit: int | None = None) -> list[dict]:
    """The leaderboard's entries, best first (`limit`: the first few only)."""
    teams = selectors.leaderboard()
    if limit is not None:
        teams = teams[:limit]
    return [selectors.leaderboard_entry(team) for team in teams]


def podium(revealed: int = PODIUM) -> dict:
    """The results ceremony: the first three of the standings, the places revealed so far only
    (third first). `places` never holds a place not yet revealed: a page cannot show it early."""
    top = standings(PODIUM)
    places = [{"place": place, **entry} for place, entry in enumerate(top, start=1)]
    revealed = max(0, min(revealed, len(places)))
    shown = sorted(places, key=lambda entry: -entry["place"])[:revealed]  # third, then second, then first
    return {"count": len(places), "revealed": revealed, "places": shown}


@dataclass
class _School:
    name: str
    teams: int = 0
    value: Decimal = Decimal("0")
    starting_cash: Decimal = Decimal("0")
    returns: Decimal = Decimal("0")
    best: dict | None = None


def school_standings() -> list[dict]:
    """Each school's teams' combined value and return, their average return and its best team,
    best average return first (then combined return, then name). Teams without a school are in no
    school's standing."""
    schools: dict[str, _School] = {}
    for entry, starting_cash in _entries_with_cash():
        name = (entry["school"] or "").strip()
        if not name:
            continue
        school = schools.setdefault(name.casefold(), _School(name))
        school.teams += 1
        school.value += entry["total_value"]
        school.starting_cash += starting_cash
        school.returns += entry["return_pct"]
        school.best = school.best or entry  # the standings are best first
    rows = [
        {
            "school": school.name,
            "teams": school.teams,
            "combined_value": school.value,
            "combined_return_pct": percent(school.value - school.starting_cash, school.starting_cash),
            "average_return_pct": (school.returns / school.teams).quantize(Decimal("0.01")),
            "best_team": {name: school.best[name] for name in ("rank", "display_name", "total_value", "return_pct")},
        }
        for school in schools.values()
    ]
    rows.sort(key=lambda row: (-row["average_return_pct"], -row["combined_return_pct"], row["school"].casefold()))
    return [{"rank": rank, **row} for rank, row in enumerate(rows, start=1)]


def _entries_with_cash() -> Iterator[tuple[dict, Decimal]]:
    for team in selectors.leaderboard().iterator(chunk_size=2000):
        yield selectors.leaderboard_entry(team), team.starting_cash


def day_winners(places: int = PODIUM) -> list[dict]:
    """For each closed day, the teams with the best return of that day (value at its close against
    the close before, or starting cash on the first): `places` a day, ties by the higher value at
    close, then the team's name."""
    teams = {
        pk: (name, school, starting_cash)
        for pk, name, school, starting_cash in Participant.objects.values_list(
            "pk", "display_name", "school", "starting_cash"
        ).iterator(chunk_size=2000)
    }
    previous: dict = {pk: team[2] for pk, team in teams.items()}
    by_day: dict[int, list[tuple]] = {}
    for participant_id, day, value in (
        DailyValue.objects.order_by("day").values_list("participant_id", "day", "value").iterator(chunk_size=2000)
    ):
        before = previous.get(participant_id)
        if before:
            by_day.setdefault(day, []).append(((value - before) / before, value, before, participant_id))
        previous[participant_id] = value
    winners = []
    for day, results in sorted(by_day.items()):
        # By the exact return (two rounded to the same 1.00% are not a tie), then value, then name.
        results.sort(key=lambda result: (-result[0], -result[1], teams[result[3]][0].casefold()))
        for place, (_ratio, value, before, participant_id) in enumerate(results[:places], start=1):
            return_pct = percent(value - before, before)
            name, school, _cash = teams[participant_id]
            winners.append(
                {
                    "day": day,
                    "place": place,
                    "display_name": name,
                    "school": school,
                    "value_at_close": value,
                    "day_return_pct": return_pct,
                }
            )
    return winners
