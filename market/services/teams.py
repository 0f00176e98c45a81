"""Teams: sign-up, creation, renames, freezing, cash adjustments, and a team's value."""

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import DecimalField, F, OuterRef, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from accounts.models import Role, User
from common.problems import InvalidInput
from common.read_cache import reads_changed
from market import events
from market.errors import AlreadyRegistered, InsufficientFunds, SignupClosed
from market.events import leaderboard_changed
from market.models import MAX_CASH, CashAdjustment, EventSettings, Holding, Participant
from market.money import ZERO, money
from market.services.audit import audit
from market.services.fills import fills_after_commit
from overlay.events import broadcast


def _money_field() -> DecimalField:
    return DecimalField(max_digits=18, decimal_places=2)


def revalue(participants: QuerySet) -> int:
    """Set portfolio_value = cash + holdings at current prices, in one UPDATE (the trade computes
    the same value in its own SQL: market.sql.HOLDINGS_VALUE)."""
    holdings_value = (
        Holding.objects.filter(participant=OuterRef("pk"))
        .values("participant")
        .annotate(value=Sum(F("quantity") * F("company__current_price"), output_field=_money_field()))
        .values("value")
    )
    return participants.update(
        portfolio_value=F("cash") + Coalesce(Subquery(holdings_value), Value(ZERO), output_field=_money_field())
    )


def _new_team(*, user: User, display_name: str, school: str, starting_cash: Decimal | None) -> Participant:
    """A team as every way of making one makes it (not saved): a participant's account, the
    event's starting cash unless another is given, valued at its cash."""
    if user.role != "participant":
        raise InvalidInput("An organiser's account cannot be a team.", errors={"user": ["Pick a participant account."]})
    if starting_cash is None:
        starting_cash = EventSettings.load().starting_cash
    cash = money(starting_cash)
    if cash < 0 or cash > MAX_CASH:
        raise InvalidInput("Starting cash is out of range.", errors={"starting_cash": ["Out of range."]})
    return Participant(
        user=user, display_name=display_name, school=school, cash=cash, starting_cash=cash, portfolio_value=cash
    )


@transaction.atomic
def participant_create(
    *,
    user: User,
    display_name: str,
    school: str = "",
    starting_cash: Decimal | None = None,
    by: User | None = None,
) -> Participant:
    """A new team for an account. Audited when an organiser (`by`) creates it."""
    team = _new_team(user=user, display_name=display_name, school=school, starting_cash=starting_cash)
    team.save(force_insert=True)
    reads_changed("leaderboard")
    if by is not None:
        new = {"email": user.email, "display_name": display_name, "school": school, "starting_cash": team.cash}
        audit(by=by, action="participant_create", target=_team(team), new=new)
    return team


@dataclass(frozen=True)
class NewTeam:
    """A team to make in bulk (an import), its account's password already hashed."""

    email: str
    password_hash: str
    display_name: str
    school: str = ""
    starting_cash: Decimal | None = None


def teams_create(*, teams: list[NewTeam], now: datetime) -> list[Participant]:
    """Many accounts and their teams at once, by participant_create's rules: two bulk inserts, in
    the caller's transaction (an import writes thousands in one, and audits the file)."""
    users = User.objects.bulk_create(
        [
            User(email=team.email, password=team.password_hash, role=Role.PARTICIPANT, created_at=now, updated_at=now)
            for team in teams
        ]
    )
    made = [
        _new_team(user=user, display_name=team.display_name, school=team.school, starting_cash=team.starting_cash)
        for team, user in zip(teams, users, strict=True)
    ]
    created = Participant.objects.bulk_create(made)
    reads_changed("leaderboard")
    return created


def signup_is_open() -> bool:
    return settings.SIGNUP_OPEN and EventSettings.load().signup_open


def team_signup(*, email: str, password: str, display_name: str, school: str = "") -> Participant:
    """A team signs itself up, while sign-up is open. Sign-up never makes an admin."""
    if not signup_is_open():
        raise SignupClosed("Sign-up is closed for this event. Ask the organisers for an account.")
    return team_register(email=email, password=password, display_name=display_name, school=school)


def team_register(
    *,
    email: str,
    password: str,
    display_name: str,
    school: str = "",
    starting_cash: Decimal | None = None,
    by: User | None = None,
) -> Participant:
    """A participant's account and its team, made together (sign-up, an organiser's form).
    AlreadyRegistered names the field when another account or team took the e-mail or the name
    first: the forms check both, but two requests may race past the check; the database decides."""
    try:
        with transaction.atomic():
            user = User.objects.create_user(email=email, password=password, role=Role.PARTICIPANT)
            return participant_create(
                user=user, display_name=display_name, school=school, starting_cash=starting_cash, by=by
            )
    except IntegrityError as exc:
        field = "display_name" if "display_name" in str(exc) else "email"
        raise AlreadyRegistered(field) from exc


def participant_rename(*, participant: Participant, display_name: str, school: str, by: User | None) -> Participant:
    """A team's name and school, as the team or an organiser changes them."""
    try:
        with transaction.atomic():
            # The names before, as stored: the caller's object may already hold the new ones.
            before = Participant.objects.select_for_update().filter(pk=participant.pk).values("display_name", "school")
            old = before.first()
            if old is not None:
                Participant.objects.filter(pk=participant.pk).update(
                    display_name=display_name, school=school, updated_at=timezone.now()
                )
                audit(
                    by=by,
                    action="participant_rename",
                    target=f"participant:{participant.pk}",
                    old=old,
                    new={"display_name": display_name, "school": school},
                )
    except IntegrityError as exc:  # a concurrent rename took the name first
        raise InvalidInput("This team name is taken.", errors={"display_name": ["This team name is taken."]}) from exc
    reads_changed("leaderboard")
    leaderboard_changed()
    participant.display_name, participant.school = display_name, school
    return participant


@transaction.atomic
def participant_freeze(*, participant: Participant, frozen: bool = True, by: User | None) -> Participant:
    updated = Participant.objects.filter(pk=participant.pk).exclude(is_frozen=frozen).update(is_frozen=frozen)
    if updated:
        audit(by=by, action="participant_freeze" if frozen else "participant_unfreeze", target=_team(participant))
        if not frozen:
            fills_after_commit()  # its orders waited while it was frozen
    participant.refresh_from_db()
    return participant


@transaction.atomic
def cash_adjust(*, participant: Participant, amount: Decimal, reason: str, by: User | None) -> CashAdjustment:
    """Add (or, negative, remove) cash outside trading; logged, never below zero."""
    amount = money(amount)
    if amount == 0:
        raise InvalidInput("The amount must not be zero.", errors={"amount": ["Must not be zero."]})
    if not reason.strip():
        raise InvalidInput("Say why the cash changes.", errors={"reason": ["This field may not be blank."]})
    locked = Participant.objects.select_for_update().get(pk=participant.pk)
    new_cash = locked.cash + amount
    if new_cash < locked.reserved_cash:
        reserved = locked.reserved_cash
        held = f" ({reserved} of it held by its open orders: cancel them first)" if reserved else ""
        raise InsufficientFunds(
            f"The team has {locked.cash}{held} and cannot lose {-amount}.", cash=str(locked.cash - locked.reserved_cash)
        )
    if new_cash > MAX_CASH:
        raise InvalidInput("The resulting cash is out of range.", errors={"amount": ["Too large."]})
    adjustment = CashAdjustment.objects.create(participant=locked, amount=amount, reason=reason.strip(), by=by)
    Participant.objects.filter(pk=locked.pk).update(cash=new_cash, updated_at=timezone.now())
    revalue(Participant.objects.filter(pk=locked.pk))
    audit(
        by=by,
        action="cash_adjust",
        target=_team(locked),
        amount=str(amount),
        reason=reason.strip(),
        old={"cash": locked.cash},
        new={"cash": new_cash},
    )
    reads_changed("leaderboard")
    broadcast("portfolio", events.portfolio(locked), to=locked.user_id)
    leaderboard_changed()
    return adjustment


def _team(participant: Participant) -> str:
    return f"participant:{participant.pk}"
