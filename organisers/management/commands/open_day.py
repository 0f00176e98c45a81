from django.core.management.base import BaseCommand, CommandError

from common.problems import DomainError
from market.services import market_open


class Command(BaseCommand):
    help = "Ring the start bell: open the next trading day."

    def handle(self, *args, **options):
        try:
            day = market_open(by=None)
        except DomainError as refusal:
            raise CommandError(refusal.detail) from refusal
        self.stdout.write(self.style.SUCCESS(f"Day {day.number} is open."))
