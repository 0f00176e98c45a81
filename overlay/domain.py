"""What the live layer asks of the apps above it, handed over at start-up.

The live layer carries events without knowing what they mean (docs/architecture.md): it imports
no app of the product. Who a signed-in user is as a viewer, whether an overlay's token is the
current one, who an API token belongs to, what a connection's snapshot holds for its topics and
what a socket's commands do are the market's and the newsroom's to say: their `AppConfig.ready`
hands them over here (`market/live.py`, `newsroom/live.py`).
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


class CommandRefused(Exception):
    """A socket's command that cannot be carried out: its `code` and `message` go back to it."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class SnapshotPart:
    """One key of a snapshot: `build(viewer)` gives its value, for a connection subscribed to
    `topic` (None: every connection)."""

    key: str
    topic: str | None
    build: Callable[[Any], Any]


_hooks: dict[str, Callable] = {}
_snapshot: list[SnapshotPart] = []
_commands: dict[str, Callable] = {}


def provide(
    *,
    viewer_for_user: Callable | None = None,
    overlay_token_ok: Callable | None = None,
    user_for_api_token: Callable | None = None,
) -> None:
    """Hand over who watches: `viewer_for_user(user)` → a Viewer or None; `overlay_token_ok(token)`;
    `user_for_api_token(key)` → the user, or None."""
    given = {
        "viewer_for_user": viewer_for_user,
        "overlay_token_ok": overlay_token_ok,
        "user_for_api_token": user_for_api_token,
    }
    _hooks.update({name: hook for name, hook in given.items() if hook is not None})


def snapshot_part(key: str, *, topic: str | None, build: Callable[[Any], Any]) -> None:
    """Connections subscribed to `topic` find `build(viewer)` under `key` in their snapshot."""
    _snapshot[:] = [part for part in _snapshot if part.key != key]
    _snapshot.append(SnapshotPart(key, topic, build))


def command(name: str, handler: Callable[[Any, dict], None]) -> None:
    """A socket may send `{"type": name, ...}`: `handler(viewer, command)` carries it out, or
    raises CommandRefused (or a DomainError, whose code and detail go back)."""
    _commands[name] = handler


def _hook(name: str) -> Callable:
    try:
        return _hooks[name]
    except KeyError:
        raise RuntimeError(f"the live layer was given no {name}: is the market app installed?") from None


def viewer_for_user(user):
    return _hook("viewer_for_user")(user)


def overlay_token_ok(token: str | None) -> bool:
    return _hook("overlay_token_ok")(token)


def user_for_api_token(key: str):
    return _hook("user_for_api_token")(key)


def snapshot(viewer, topics: frozenset[str]) -> dict[str, Any]:
    """What a connection's topics need to draw its screen from nothing (SPEC §5)."""
    data: dict[str, Any] = {}
    for part in _snapshot:
        if part.topic is None or part.topic in topics:
            value = part.build(viewer)
            if value is not None:
                data[part.key] = value
    return data


def command_handler(name: str) -> Callable | None:
    return _commands.get(name)
