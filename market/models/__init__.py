"""The market's tables, one module per kind of thing (SPEC §2); import them from here."""

from market.models.companies import Company, PricePoint
from market.models.event import AuditEntry, EventSettings
from market.models.fields import MAX_CASH, MAX_PRICE, MAX_QUANTITY, TICKER_PATTERN
from market.models.orders import Order, OrderExpiry, OrderKind, OrderStatus
from market.models.teams import CashAdjustment, DailyValue, Holding, Participant
from market.models.trades import IdempotencyRecord, TradeType, TradingDay, Transaction

__all__ = [
    "MAX_CASH",
    "MAX_PRICE",
    "MAX_QUANTITY",
    "TICKER_PATTERN",
    "AuditEntry",
    "CashAdjustment",
    "Company",
    "DailyValue",
    "EventSettings",
    "Holding",
    "IdempotencyRecord",
    "Order",
    "OrderExpiry",
    "OrderKind",
    "OrderStatus",
    "Participant",
    "PricePoint",
    "TradeType",
    "TradingDay",
    "Transaction",
]
