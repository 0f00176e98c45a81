"""What leaves as spreadsheets only: the teams with their money, every trade, every order that
waited, the leaderboard."""

from import_export import resources
from import_export.fields import Field

from market import selectors
from market.models import Order, Participant, Transaction
from organisers.resources.base import NativeExportMixin


class ParticipantExportResource(NativeExportMixin, resources.ModelResource):
    """Every team with its money (export only; the import is organisers.imports)."""

    email = Field(attribute="user__email", column_name="email")
    display_name = Field(attribute="display_name", column_name="display_name")
    school = Field(attribute="school", column_name="school")
    starting_cash = Field(attribute="starting_cash", column_name="starting_cash")
    cash = Field(attribute="cash", column_name="cash")
    portfolio_value = Field(attribute="portfolio_value", column_name="portfolio_value")
    trade_count = Field(attribute="trade_count", column_name="trade_count")
    is_frozen = Field(attribute="is_frozen", column_name="is_frozen")

    class Meta:
        model = Participant
        name = "Teams"
        fields = (
            "email",
            "display_name",
            "school",
            "starting_cash",
            "cash",
            "portfolio_value",
            "trade_count",
            "is_frozen",
        )

    def get_queryset(self):
        return Participant.objects.order_by("display_name")

    def filter_export(self, queryset, **kwargs):
        return queryset.select_related("user")


TRANSACTION_COLUMNS = (
    "team",
    "ticker",
    "type",
    "quantity",
    "price",
    "total",
    "fee",
    "day",
    "created_at",
    "reversed_at",
)


class TransactionResource(NativeExportMixin, resources.ModelResource):
    """Every trade (export only). Teams by name only: no e-mail addresses in a file that travels.
    A reversed trade is listed with its `reversed_at`: it counts nowhere."""

    team = Field(attribute="participant__display_name", column_name="team")
    ticker = Field(attribute="company__ticker", column_name="ticker")
    type = Field(attribute="type", column_name="type")
    quantity = Field(attribute="quantity", column_name="quantity")
    price = Field(attribute="price", column_name="price")
    total = Field(attribute="total", column_name="total")
    fee = Field(attribute="fee", column_name="fee")
    day = Field(attribute="day", column_name="day")
    created_at = Field(attribute="created_at", column_name="created_at")
    reversed_at = Field(attribute="reversed_at", column_name="reversed_at")

    class Meta:
        model = Transaction
        name = "Transactions"
        fields = TRANSACTION_COLUMNS

    def get_queryset(self):
        return Transaction.objects.order_by("created_at", "id")

    def filter_export(self, queryset, **kwargs):
        return queryset.select_related("participant", "company")


ORDER_COLUMNS = (
    "team",
    "school",
    "ticker",
    "type",
    "kind",
    "quantity",
    "price",
    "status",
    "expires",
    "reserved",
    "created_at",
    "filled_at",
    "closed_at",
    "transaction",
    "reason",
)


class OrderResource(NativeExportMixin, resources.ModelResource):
    """Every limit and stop order (export only), open or ended. Teams by name, as the trades are;
    a filled order names its trade (`transaction`), a cancelled or rejected one says why."""

    team = Field(attribute="participant__display_name", column_name="team")
    school = Field(attribute="participant__school", column_name="school")
    ticker = Field(attribute="company__ticker", column_name="ticker")
    type = Field(attribute="type", column_name="type")
    kind = Field(attribute="kind", column_name="kind")
    quantity = Field(attribute="quantity", column_name="quantity")
    price = Field(attribute="price", column_name="price")
    status = Field(attribute="status", column_name="status")
    expires = Field(attribute="expires", column_name="expires")
    reserved = Field(attribute="reserved", column_name="reserved")
    created_at = Field(attribute="created_at", column_name="created_at")
    filled_at = Field(attribute="filled_at", column_name="filled_at")
    closed_at = Field(attribute="closed_at", column_name="closed_at")
    transaction = Field(attribute="transaction_id", column_name="transaction")
    reason = Field(attribute="reason", column_name="reason")

    class Meta:
        model = Order
        name = "Orders"
        fields = ORDER_COLUMNS

    def get_queryset(self):
        return Order.objects.order_by("created_at", "id")

    def filter_export(self, queryset, **kwargs):
        return queryset.select_related("participant", "company")

    def dehydrate_transaction(self, order: Order) -> str | None:
        return str(order.transaction_id) if order.transaction_id else None  # a spreadsheet has no UUID cell


LEADERBOARD_COLUMNS = ("rank", "display_name", "school", "total_value", "return_pct", "trades")


class LeaderboardResource(NativeExportMixin, resources.Resource):
    """The whole leaderboard, ranked (export only). Ranks are the event's: whatever rows a
    changelist shows, the export ranks every team."""

    rank = Field(column_name="rank")
    display_name = Field(column_name="display_name")
    school = Field(column_name="school")
    total_value = Field(column_name="total_value")
    return_pct = Field(column_name="return_pct")
    trades = Field(column_name="trades")

    class Meta:
        export_order = LEADERBOARD_COLUMNS

    @classmethod
    def get_display_name(cls) -> str:  # the export form's choice (ModelResource has it, Resource not)
        return "Leaderboard"

    def get_queryset(self):
        return selectors.leaderboard()

    def export(self, queryset=None, **kwargs):
        return super().export(queryset=selectors.leaderboard(), **kwargs)

    def export_resource(self, instance, selected_fields=None, **kwargs):
        entry = selectors.leaderboard_entry(instance)
        return [entry[field.column_name] for field in self.get_export_fields(selected_fields)]
