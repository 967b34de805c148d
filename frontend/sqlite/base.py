"""Django's SQLite backend, except that a request that only reads opens its transaction DEFERRED.

The embedded default (settings: ``transaction_mode`` IMMEDIATE, ``ATOMIC_REQUESTS``) takes SQLite's write
lock at the start of every transaction, so writes queue for it instead of failing halfway through. A page
view is a transaction too, and so queued behind the figures refresh's writes for seconds (up to the 20 s
timeout, then "database is locked"). Under WAL a DEFERRED transaction reads without any lock: requests with
a safe method (``READ_METHODS``, marked by ``frontend.middleware.ReadRequestMiddleware``) begin DEFERRED.
A write inside one would take the lock only when it comes, and SQLite refuses it at once if another write
committed since the transaction began reading: the reason this is kept to safe methods.
"""

from contextvars import ContextVar

from django.db.backends.sqlite3 import base

reading_request: ContextVar[bool] = ContextVar("reading_request", default=False)


class DatabaseWrapper(base.DatabaseWrapper):
    def _start_transaction_under_autocommit(self):
        if reading_request.get():
            self.cursor().execute("BEGIN DEFERRED")
        else:
            super()._start_transaction_under_autocommit()
