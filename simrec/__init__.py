"""simrec: recommender-system simulation and offline evaluation.

Importing simrec registers the Gymnasium environments ``simrec/Bandit-v0``, ``simrec/Slate-v0``,
``simrec/Retention-v0`` and ``simrec/Messaging-v0``.
"""

import os as _os

__version__ = "0.1.0"

# numba's OpenMP threads spin while they wait by default; on a busy machine (a process pool, a
# shared CI box) that turns a 3 ms parallel step into 30 ms. Passive waiting costs microseconds
# per parallel region when the machine is quiet. A value the user set is kept.
_os.environ.setdefault("OMP_WAIT_POLICY", "passive")

from .envs import register_envs as _register_envs  # noqa: E402

_register_envs()
