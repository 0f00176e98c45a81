"""What was scheduled before the run sheet becomes cues, nothing lost (organisers 0002)."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE = [("organisers", "0001_run_sheet"), ("market", "0007_orders"), ("newsroom", "0002_scheduler")]


def migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


def test_scheduled_prices_day_times_and_news_for_later_become_cues():
    old = migrate(BEFORE)
    now = timezone.now().replace(microsecond=0)
    Company = old.get_model("market", "Company")
    TradingDay = old.get_model("market", "TradingDay")
    News = old.get_model("newsroom", "News")
    ScheduledPrice = old.get_model("market", "ScheduledPrice")
    acme = Company.objects.create(
        ticker="ACME", name="Acme", current_price=Decimal("10.00"), previous_price=Decimal("10.00")
    )
    TradingDay.objects.create(number=1, opened_at=now - timedelta(days=1), closed_at=now - timedelta(hours=20))
    TradingDay.objects.create(
        number=2, scheduled_open_at=now + timedelta(hours=1), scheduled_close_at=now + timedelta(hours=7)
    )
    TradingDay.objects.create(number=3)  # prepared, no times yet: nothing of tomorrow's is its
    ScheduledPrice.objects.create(company=acme, price=Decimal("12.00"), at=now + timedelta(hours=2))
    ScheduledPrice.objects.create(
        company=acme, price=Decimal("9.00"), at=now - timedelta(hours=22), applied_at=now - timedelta(hours=22)
    )
    later = News.objects.create(title="Results", content="Up 31%.", published_at=now + timedelta(hours=3))
    News.objects.create(title="Old", content="x", published_at=now - timedelta(hours=2), announced_at=now)

    try:
        new = migrate([("organisers", "0002_cues_from_schedules"), ("market", "0008_scheduled_prices_are_cues")])
        Cue = new.get_model("organisers", "Cue")
        cues = {(cue.day, cue.action, cue.status): cue for cue in Cue.objects.all()}

        assert sorted(cues) == [
            (1, "price", "fired"),
            (2, "close", "planned"),
            (2, "news", "planned"),
            (2, "open", "planned"),
            (2, "price", "planned"),
        ]
        assert cues[(2, "open", "planned")].due_at == now + timedelta(hours=1)
        assert cues[(2, "close", "planned")].due_at == now + timedelta(hours=7)
        price = cues[(2, "price", "planned")]
        assert (price.due_at, price.data) == (now + timedelta(hours=2), {"ticker": "ACME", "price": "12.00"})
        local = timezone.localtime(now + timedelta(hours=2))
        assert price.at == local.strftime("%Y-%m-%d %H:%M:%S" if local.second else "%Y-%m-%d %H:%M")
        news = cues[(2, "news", "planned")]
        assert (news.due_at, news.news_id, news.data["title"]) == (now + timedelta(hours=3), later.pk, "Results")
        items = new.get_model("newsroom", "News")
        assert items.objects.get(pk=later.pk).published_at is None  # a draft until its cue fires
        assert items.objects.get(title="Old").published_at == now - timedelta(hours=2)
        assert cues[(1, "price", "fired")].fired_at == now - timedelta(hours=22)
    finally:
        migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())  # back to the latest for the next test


def test_a_bell_due_while_no_scheduler_ran_stays_planned_to_ring_late():
    old = migrate(BEFORE)
    now = timezone.now().replace(microsecond=0)
    TradingDay = old.get_model("market", "TradingDay")
    TradingDay.objects.create(
        number=1, scheduled_open_at=now - timedelta(minutes=5), scheduled_close_at=now + timedelta(hours=6)
    )
    try:
        new = migrate([("organisers", "0002_cues_from_schedules"), ("market", "0008_scheduled_prices_are_cues")])
        Cue = new.get_model("organisers", "Cue")
        assert sorted(Cue.objects.values_list("action", "status", "due_at")) == [
            ("close", "planned", now + timedelta(hours=6)),
            ("open", "planned", now - timedelta(minutes=5)),
        ]
    finally:
        migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())
