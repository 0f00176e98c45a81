from django.core.management.base import BaseCommand, CommandError

from common.problems import DomainError
from market.services import market_close


class Command(BaseCommand):
    help = "Ring the end bell: close the open trading day."

    def handle(self, *args, **options):
        try:
            day = market_close(by=None)
        except DomainError as refusal:
            raise CommandError(refusal.detail) from refusal
        self.stdout.write(self.style.SUCCESS(f"Day {day.number} is closed."))
