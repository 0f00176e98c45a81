"""The admin of the orders that wait (SPEC §4b): every team's limit and stop orders, read-only,
and cancelled by an organiser only through the book's service, with a reason (audited)."""

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.template.response import TemplateResponse
from import_export.admin import ExportMixin

from market import services
from market.errors import OrderNotOpen
from market.models import Order, OrderStatus
from organisers.admin.base import ReadOnlyAdmin
from organisers.resources import OrderResource, SpreadsheetAdminMixin

NAMED = 10  # the orders not cancelled that a message names; more would bury it


class OrderCancelForm(forms.Form):
    reason = forms.CharField(
        max_length=500,
        label="Reason",
        help_text="Logged with each order, and shown to the team with it.",
        error_messages={"required": "Say why the orders are cancelled."},
        widget=forms.TextInput(attrs={"size": 60, "autocomplete": "off"}),
    )


def describe(order: Order) -> str:
    """`Bull Riders’s limit buy of 5 ACME at 9.00`."""
    return (
        f"{order.participant.display_name}’s {order.kind} {order.type} of {order.quantity} "
        f"{order.company.ticker} at {order.price}"
    )


@admin.register(Order)
class OrderAdmin(SpreadsheetAdminMixin, ExportMixin, ReadOnlyAdmin):
    list_display = ["created_at", "team", "ticker", "side", "kind", "quantity", "price", "status", "expires"]
    list_filter = ["status", "kind", "type", "expires"]
    search_fields = ["participant__display_name", "company__ticker", "id"]
    list_select_related = ["participant", "company"]
    date_hierarchy = "created_at"
    actions = ["cancel_selected"]

    # Export: the orders shown (filters apply), with the columns of the results workbook's sheet.
    resource_classes = [OrderResource]

    @admin.display(description="team", ordering="participant__display_name")
    def team(self, order: Order) -> str:
        return order.participant.display_name

    @admin.display(description="ticker", ordering="company__ticker")
    def ticker(self, order: Order) -> str:
        return order.company.ticker

    @admin.display(description="side", ordering="type")
    def side(self, order: Order) -> str:
        return order.get_type_display()

    def has_cancel_permission(self, request) -> bool:
        # Read-only for hand edits, yet an organiser may end an order (through the service).
        return request.user.has_perm("market.change_order")

    @admin.action(description="Cancel selected orders", permissions=["cancel"])
    def cancel_selected(self, request, queryset):
        """First a page listing the orders and asking why; then each open one cancelled through
        `book_cancel` (its cash or shares handed back, the team told, the audit log written)."""
        orders = list(queryset.select_related("participant", "company").order_by("created_at", "id"))
        if not any(order.status == OrderStatus.OPEN for order in orders):
            messages.info(request, "None of the selected orders is open: nothing to cancel.")
            return None
        form = OrderCancelForm(request.POST if "confirm" in request.POST else None)
        if not form.is_valid():
            return self._cancel_page(request, orders, form)
        reason = form.cleaned_data["reason"]
        cancelled, not_open = 0, []
        for order in orders:
            try:
                services.book_cancel(order=order, by=request.user, reason=reason)
            except OrderNotOpen:
                order.refresh_from_db(fields=["status"])  # it may have ended since the list was read
                not_open.append(f"{describe(order)} ({order.status})")
            else:
                cancelled += 1
        if cancelled:
            plural = "order" if cancelled == 1 else "orders"
            messages.success(request, f"Cancelled {cancelled} {plural}: what each held is free again.")
        if not_open:
            more = f" (and {len(not_open) - NAMED} more)" if len(not_open) > NAMED else ""
            messages.warning(request, f"Not cancelled, because not open: {'; '.join(not_open[:NAMED])}{more}.")
        return None  # back to the list

    def _cancel_page(self, request, orders: list[Order], form: OrderCancelForm) -> TemplateResponse:
        context = {
            **self.admin_site.each_context(request),
            "title": "Cancel orders",
            "opts": self.model._meta,
            "orders": orders,
            "open_count": sum(order.status == OrderStatus.OPEN for order in orders),
            "form": form,
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, "admin/market/order/cancel_selected.html", context)
