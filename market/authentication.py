"""API authentication: DRF's token scheme, reading the team with the account in the same query."""

from functools import cache

from django.db import connection
from rest_framework import authentication, exceptions
from rest_framework.authtoken.models import Token

from accounts.models import User
from common.sql import Columns
from market.models import Participant


@cache
def _token_query() -> tuple[str, Columns, Columns, Columns]:
    token, user, team = Columns(Token, "t"), Columns(User, "u"), Columns(Participant, "p")
    sql = (
        f"SELECT {token.sql}, {user.sql}, {team.sql}"
        f" FROM {Token._meta.db_table} t JOIN {User._meta.db_table} u ON u.id = t.user_id"
        f" LEFT JOIN {Participant._meta.db_table} p ON p.user_id = u.id"
        " WHERE t.key = %s"
    )
    return sql, token, user, team


class TokenAuthentication(authentication.TokenAuthentication):
    """`Authorization: Token <key>`. The token, its account and the account's team (if any) come
    in one query: every team request asks for the team next (accounts.permissions.IsParticipant).

    Every API request comes here first, so the query is written once, not compiled by the ORM
    each time (compiling the ORM's `select_related(...).get()` was a large part of a request's
    processor time, docs/performance.md); the instances are the ORM's own, relations cached."""

    def authenticate_credentials(self, key):
        sql, token_columns, user_columns, team_columns = _token_query()
        with connection.cursor() as cursor:
            cursor.execute(sql, [key])
            row = cursor.fetchone()
        if row is None:
            raise exceptions.AuthenticationFailed("Invalid token.")
        user_at, team_at = len(token_columns), len(token_columns) + len(user_columns)
        token = token_columns.load(row[:user_at])
        user = user_columns.load(row[user_at:team_at])
        team = team_columns.load(row[team_at:]) if row[team_at] is not None else None
        token._state.fields_cache["user"] = user
        user._state.fields_cache["participant"] = team  # None: user.participant raises DoesNotExist
        if team is not None:
            team._state.fields_cache["user"] = user
        if not user.is_active:
            raise exceptions.AuthenticationFailed("User inactive or deleted.")
        return (user, token)
