"""A company import changes several prices in one transaction: it holds every company's price lock
from the start, so a trade on any of them waits before it touches a team (no deadlock)."""

import io
import threading
from decimal import Decimal

import openpyxl
import pytest
from django.db import connection, connections, transaction

from market.models import Company
from market.services.locks import COMPANY_LOCK
from organisers.resources import CompanyResource
from organisers.spreadsheets import read_sheet

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def workbook(rows) -> bytes:
    book = openpyxl.Workbook()
    for row in rows:
        book.active.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def a_trade_could_lock(company: Company) -> bool:
    """From another connection: could a trade take this company's lock (shared) right now?"""
    answer = {}

    def probe():
        try:
            with connections["default"].cursor() as cursor:
                cursor.execute(
                    "SELECT pg_try_advisory_lock_shared(%s, hashtext(%s::text))", [COMPANY_LOCK, str(company.pk)]
                )
                answer["free"] = cursor.fetchone()[0]
                if answer["free"]:
                    cursor.execute(
                        "SELECT pg_advisory_unlock_shared(%s, hashtext(%s::text))", [COMPANY_LOCK, str(company.pk)]
                    )
        finally:
            connections["default"].close()

    thread = threading.Thread(target=probe)
    thread.start()
    thread.join(10)
    return answer["free"]


def test_the_import_holds_every_company_price_lock_before_its_first_price_change(make_company, monkeypatch):
    first, second = make_company("AAA", "10.00"), make_company("BBB", "20.00")
    content = workbook([["ticker", "price"], ["AAA", "11.00"], ["BBB", "21.00"]])
    dataset = read_sheet(content, "c.xlsx").as_dataset()
    from organisers.resources import companies

    real_company_edit, seen = companies.company_edit, {}

    def company_edit_watched(*, company, **changes):
        if company.ticker == "AAA":  # the first change, which locks AAA's holders: BBB must be held already
            seen["BBB free during AAA's change"] = a_trade_could_lock(second)
        return real_company_edit(company=company, **changes)

    monkeypatch.setattr(companies, "company_edit", company_edit_watched)

    with transaction.atomic():
        result = CompanyResource().import_data(dataset, dry_run=False)
        assert not result.has_validation_errors()
    released = [a_trade_could_lock(first), a_trade_could_lock(second)]

    assert seen == {"BBB free during AAA's change": False}
    assert released == [True, True]
    assert connection.vendor == "postgresql"
    assert Company.objects.get(ticker="BBB").current_price == Decimal("21.00")
