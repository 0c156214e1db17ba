"""Email: composing (compose), the outbox every email passes through (outbox), sending it
(sender) over SMTP or into `.eml` files (transport).

Views and jobs call the few functions re-exported here.
"""

from .outbox import enqueue, enqueue_test_email
from .sender import DispatchReport, dispatch

__all__ = ["DispatchReport", "dispatch", "enqueue", "enqueue_test_email"]
