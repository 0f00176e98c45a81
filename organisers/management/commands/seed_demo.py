"""Fill an empty event with demo data: companies with history, news, teams and an admin.

Running it again adds nothing twice: rows are found by ticker, e-mail and title.
"""

import random
from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from accounts.models import Role, User
from market.live import current_overlay_token
from market.models import Company, EventSettings, Participant, PricePoint, TradingDay
from market.money import money
from market.services import participant_create
from newsroom.models import News
from organisers.models import CueAction
from organisers.runsheet.news import news_write
from organisers.runsheet.services import cue_create
from organisers.runsheet.times import event_time_text

DEMO_ADMIN_EMAIL = "admin@demo.brainstorm"
DEMO_ADMIN_PASSWORD = "brainstorm-admin-demo"
DEMO_TEAM_PASSWORD = "brainstorm-team-demo"
HISTORY_DAYS = 3

COMPANIES = [
    ("NUSA", "Nusantara Telekom", "Mobile networks and fibre across the archipelago.", "4150.00", 0.04),
    ("KOPI", "Kopi Kita", "Coffee shops on every campus and station.", "1820.00", 0.09),
    ("GRID", "Surya Grid Energi", "Solar farms and battery storage for island grids.", "2675.00", 0.12),
    ("BATIK", "Batik Moderna", "Textiles and fashion from traditional patterns.", "960.00", 0.06),
    ("RAIL", "Jalur Cepat Rail", "High-speed trains between the big cities.", "3310.00", 0.05),
    ("AGRO", "Tani Makmur Agro", "Rice, palm and vertical farms.", "1485.00", 0.07),
    ("EDU", "Pintar Edutech", "Learning apps for schools and tutors.", "745.00", 0.15),
    ("BANK", "Bank Rakyat Digital", "A phone-only bank for students and small shops.", "5220.00", 0.03),
]

NEWS = [
    # (title, content, hours from now: negative = already published, positive = scheduled, None = draft)
    ("Welcome to Brainstorm", "Read the news, study the companies, and trade wisely. Good luck, teams!", -72),
    ("Kopi Kita opens 120 new campus outlets", "The chain expects campus sales to double by next year.", -70),
    ("Surya Grid wins island storage tender", "A 400 MWh battery contract starts delivery this quarter.", -60),
    ("Rail ridership dips during holiday season", "Jalur Cepat reports a 6% drop in weekday passengers.", -50),
    ("Pintar Edutech signs deal with 300 schools", "The licence covers maths and science apps for three years.", -48),
    ("Bank Rakyat Digital passes 5 million accounts", "Growth came mostly from students opening first accounts.", -30),
    ("Drought warning for rice regions", "Weather agency warns of a dry season; Tani Makmur shares watched.", -26),
    ("Nusantara Telekom raises dividend", "The board proposes a 12% higher dividend per share.", -4),
    ("Batik Moderna to launch online store", "Direct sales abroad could lift margins, analysts say.", 2),
    ("Regulator reviews mobile data prices", "A review of data tariffs could squeeze telecom margins.", 26),
    ("Surya Grid quarterly results", "Revenue up 31% on new contracts; profit doubles.", 50),
    ("Draft: mystery merger rumour", "Not for release until the organisers decide.", None),
]

SCHOOLS = ["SMA Negeri 1", "SMA Negeri 8", "SMA Kolese Kanisius", "SMA Labschool", "SMA Taruna Nusantara"]
TEAMS = [
    "Bull Riders",
    "Bear Necessities",
    "Blue Chips",
    "Dividend Hunters",
    "Market Makers",
    "Penny Wise",
    "Stock Stars",
    "Golden Cross",
    "Candle Stickers",
    "Ticker Tapes",
    "Index Insiders",
    "Yield Seekers",
    "Alpha Wolves",
    "Beta Testers",
    "Hedge Hogs",
    "Liquid Assets",
    "Compound Interest",
    "Risk Takers",
    "Value Village",
    "Momentum",
]


def _financials(price: Decimal, seed: int) -> dict:
    rng = random.Random(seed)
    revenue = int(price * rng.randint(800, 1400))
    years = {}
    for year in (2023, 2024, 2025):
        growth_pct = rng.randint(-5, 25)
        revenue = revenue * (100 + growth_pct) // 100
        years[str(year)] = {
            "revenue": revenue,
            "profit": revenue * rng.randint(4, 22) // 100,
            "growth_pct": growth_pct,
            "market_share_pct": rng.randint(5, 40),
        }
    return years


class Command(BaseCommand):
    help = "Create demo companies, price history, news, twenty teams and an admin; print the logins."

    def add_arguments(self, parser):
        parser.add_argument(
            "--allow-production",
            action="store_true",
            help="Seed even with DEBUG off (the demo logins are public: change them at once).",
        )

    def handle(self, *args, allow_production: bool = False, **options):
        if not settings.DEBUG and not allow_production:
            raise CommandError("seed_demo creates accounts with public passwords; it runs only with DEBUG on.")
        with transaction.atomic():
            counts = self._seed()
        added = ", ".join(f"{name}: {n}" for name, n in counts.items())
        self.stdout.write(self.style.SUCCESS(f"Demo data ready (added {added})."))
        self.stdout.write("")
        self.stdout.write("Logins (e-mail / password):")
        self.stdout.write(f"  organiser  {DEMO_ADMIN_EMAIL} / {DEMO_ADMIN_PASSWORD}   → /admin/")
        self.stdout.write(
            f"  teams      team01@demo.brainstorm … team{len(TEAMS):02d}@demo.brainstorm / {DEMO_TEAM_PASSWORD}"
            "   → /signin/"
        )
        token = current_overlay_token()  # a token rotated in the control room wins over OVERLAY_TOKEN
        if token:
            self.stdout.write("")
            self.stdout.write("OBS overlay (browser source, 1920×1080), on this server:")
            self.stdout.write(f"  /overlay/?token={token}   (also /overlay/ticker, leaderboard, news, bell)")

    def _seed(self) -> dict[str, int]:
        now = timezone.now()
        EventSettings.load()
        counts = {"companies": 0, "news items": 0, "teams": 0, "admins": 0}
        if not User.objects.filter(email__iexact=DEMO_ADMIN_EMAIL).exists():
            User.objects.create_user(email=DEMO_ADMIN_EMAIL, password=DEMO_ADMIN_PASSWORD, role=Role.ADMIN)
            counts["admins"] += 1
        days = _past_days(now)
        for index, listing in enumerate(COMPANIES):
            counts["companies"] += _list_company(index, *listing, days=days, now=now)
        for title, content, hours in NEWS:
            if not News.objects.filter(title=title).exists():
                # Still to come: a draft and a cue of the run sheet that publishes it then.
                published_at = None if hours is None else now + timedelta(hours=hours)
                news_write(news=None, by=None, title=title, content=content, published_at=published_at)
                counts["news items"] += 1
        for number, team in enumerate(TEAMS, start=1):
            counts["teams"] += _make_team(number, team)
        return counts


def _past_days(now) -> list[TradingDay]:
    """The closed days of the demo's history (made the first time)."""
    if not TradingDay.objects.exists():
        for number in range(1, HISTORY_DAYS + 1):
            opened = now - timedelta(days=HISTORY_DAYS - number + 1)
            TradingDay.objects.create(number=number, opened_at=opened, closed_at=opened + timedelta(hours=6))
    return list(TradingDay.objects.filter(closed_at__isnull=False).order_by("number"))


def _list_company(index, ticker, name, description, start, volatility, *, days, now) -> int:
    """A demo company with a price history over the past days; 0 if it is already listed."""
    if Company.objects.filter(ticker=ticker).exists():
        return 0
    rng = random.Random(ticker)
    price = Decimal(start)
    points = []
    for day in days:
        for step in range(4):
            at = day.opened_at + timedelta(hours=step * 2)
            drift = Decimal(str(round(rng.uniform(-volatility, volatility) / 2, 4)))
            price = max(money(price * (1 + drift)), Decimal("1.00"))
            points.append((price, at, day.number))
    close = points[-1][0] if points else Decimal(start)
    company = Company.objects.create(
        ticker=ticker,
        name=name,
        description=description,
        financials=_financials(Decimal(start), index),
        current_price=close,
        previous_price=close,
    )
    PricePoint.objects.bulk_create(
        [PricePoint(company=company, price=p, at=at, day=number) for p, at, number in points]
    )
    if ticker == "GRID":  # the run sheet's turn: results day lifts Surya Grid
        _cue(now + timedelta(hours=50, minutes=1), CueAction.PRICE, ticker="GRID", change_pct="12")
    return 1


def _cue(at, action: str, **data) -> None:
    """A cue of the demo's run sheet, on the day after its history."""
    cue_create(by=None, raw={"day": HISTORY_DAYS + 1, "at": event_time_text(at)[:16], "action": action, **data})


def _make_team(number: int, team: str) -> int:
    email = f"team{number:02d}@demo.brainstorm"
    if (
        User.objects.filter(email__iexact=email).exists()
        or Participant.objects.filter(display_name__iexact=team).exists()
    ):
        return 0
    user = User.objects.create_user(email=email, password=DEMO_TEAM_PASSWORD, role=Role.PARTICIPANT)
    participant_create(user=user, display_name=team, school=SCHOOLS[number % len(SCHOOLS)])
    return 1
