"""The embedded state store: journal of in-flight steps, volume fingerprints, run history, lock.

Lives in one state dir (`$STATEFUL_STATE_DIR`; /var/lib/stateful for root, else under the user's
state home), created 0700 with files 0600. Talks to no engine.
"""

from orchestrate.state.lock import RunLock
from orchestrate.state.paths import state_dir
from orchestrate.state.store import JournalEntry, Operation, RunRecord, Store

__all__ = ["JournalEntry", "Operation", "RunLock", "RunRecord", "Store", "state_dir"]
