"""SnapStart's after-restore hook: nothing made before the snapshot may be shared by restored containers.

Many containers resume from one snapshot (Lambda SnapStart docs, "uniqueness"), so pooled connections
(Mem0's, the profile reader's, the signed invoker's, boto3's, ElevenLabs') are dropped and rebuilt on
first use, the idempotency layer (which holds a boto3 client) is rebuilt, and ``random`` (botocore's retry
jitter, the profile write's back-off) is reseeded so restored containers do not back off in step.
``snapshot_restore_py`` ships only inside Lambda's Python runtime; without SnapStart the hook never runs.
Importing this module registers the hook once; every endpoint module imports it.
"""

from __future__ import annotations

import importlib
import random
import sys

# The stores that hold connections or clients, and the function of each that drops them. Only the ones a
# container has loaded are reset: importing the others would only add to the restore's time.
RESETS = (
    ("agentic_memory.stores.mem0", "reset_clients"),
    ("agentic_memory.stores.aws_clients", "reset_clients"),
    ("agentic_memory.stores.lambda_invoke", "reset"),
    ("agentic_memory.stores.idempotency", "reset"),
    ("agentic_memory.stores.profile_reader", "reset"),
    ("agentic_memory.stores.profile_table", "reset"),
    ("agentic_memory.stores.conversations_api", "reset_client"),
    # Secrets read before the snapshot may have been rotated since: read again on first use.
    ("agentic_memory.stores.secret_store", "reset"),
)
_registered: list[bool] = []


def after_restore() -> None:
    """Drop every loaded store's clients and connections and reseed ``random``."""
    for module_name, function in RESETS:
        module = sys.modules.get(module_name)
        if module is not None:
            getattr(module, function)()
    random.seed()


def register() -> bool:
    """Register ``after_restore`` with Lambda's runtime hooks, once; ``False`` where they do not exist."""
    if _registered:
        return _registered[0]
    try:
        hooks = importlib.import_module("snapshot_restore_py")
    except ImportError:
        _registered.append(False)
        return False
    hooks.register_after_restore(after_restore)
    _registered.append(True)
    return True


register()
