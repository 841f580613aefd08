"""A custom connector: pushes remembered per signed-in user, server side.

In the account area a user is pushed the dashboard's files once, whatever
browser or device they sign in from next; everywhere else the session layout
(``SessionConnector``, the demo's fallback) applies. Any object with
``get_pushed()``/``set_pushed(set)`` works as a connector; this one shows the
usual shape: pick a store per request.
"""

from __future__ import annotations

from cachelib import BaseCache
from flask import request, session

from flask_firehose import PushConnector

__all__ = ["AccountConnector"]


class AccountConnector:
    """Tracks pushes per user under ``/account``, per session elsewhere.

    :param store: where per-user sets live (any cachelib cache).
    :param fallback: the connector for every other page.
    """

    def __init__(self, store: BaseCache, fallback: PushConnector) -> None:
        self.store = store
        self.fallback = fallback

    def _user_key(self) -> str | None:
        user = session.get("user") if request.blueprint == "account" else None
        return f"pushed:{user}" if isinstance(user, str) else None

    def get_pushed(self) -> set[str]:
        key = self._user_key()
        if key is None:
            return set(self.fallback.get_pushed())
        stored = self.store.get(key)
        return set(stored) if isinstance(stored, (list, set)) else set()

    def set_pushed(self, inset: set[str]) -> None:
        key = self._user_key()
        if key is None:
            self.fallback.set_pushed(inset)
        else:
            self.store.set(key, sorted(inset))
