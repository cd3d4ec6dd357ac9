"""The base class of every simrec estimator (OPE, experiments, causal), in scikit-learn's conventions.

* The constructor stores its arguments under their own names; they are the parameters
  (:meth:`Estimator.get_params`, :meth:`Estimator.set_params`, :meth:`Estimator.clone`), and the
  repr shows every parameter that differs from its default.
* Anything random draws from ``random_state`` (an int, a ``numpy.random.Generator`` or None):
  the same inputs and the same int ``random_state`` give the same result, always.
* Each class declares what it needs (:class:`Needs`: the log kind and the extra inputs), so a
  caller can check a combination before running anything, and which keywords its ``estimate``
  accepts: a misspelled keyword is an error that suggests the nearest valid name.
"""

from __future__ import annotations

import difflib
import inspect
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from .._validation import as_rng
from ..errors import ConfigError

__all__ = ["Estimator", "Needs", "LOG_KINDS", "clone", "check_keywords"]

#: the log kinds an estimator may read (``bandit``: BanditLog, ``slate``: SlateLog,
#: ``trajectories``: Trajectories, ``experiment``: per-unit outcomes of an A/B test)
LOG_KINDS = ("bandit", "slate", "trajectories", "experiment")
_COMMON_KEYWORDS = frozenset({"alpha", "ci_method"})


@dataclass(frozen=True)
class Needs:
    """What an estimator needs: the kind of log and the extra inputs beyond it.

    Attributes
    ----------
    log : str
        One of :data:`LOG_KINDS`.
    inputs : tuple of str
        Required inputs, e.g. ``"action_dist"`` (the target policy), ``"pscore"`` (logging
        propensities in the log), ``"q_hat"`` (a reward model), ``"logger_pscores"`` (every
        logger's propensity of the logged action), ``"action_embed"`` (item features in the log),
        ``"slot_pscore"`` (per-slot marginal propensities of a slate log).
    optional : tuple of str
        Inputs used when given.
    """

    log: str
    inputs: tuple[str, ...] = ()
    optional: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.log not in LOG_KINDS:
            raise ConfigError(f"`Needs.log` must be one of {LOG_KINDS}; got {self.log!r}")

    def requires(self, name: str) -> bool:
        """Whether ``name`` is a required input."""
        return name in self.inputs

    def describe(self) -> str:
        """One line for listings: ``log=bandit; needs action_dist, q_hat; optional ...``."""
        parts = [f"log={self.log}"]
        if self.inputs:
            parts.append("needs " + ", ".join(self.inputs))
        if self.optional:
            parts.append("optional " + ", ".join(self.optional))
        return "; ".join(parts)


def check_keywords(given: dict[str, Any], accepted: set[str] | frozenset[str], where: str) -> None:
    """Raise :class:`ConfigError` for keywords of ``given`` not in ``accepted``, suggesting the nearest."""
    unknown = [k for k in given if k not in accepted]
    if not unknown:
        return
    msgs = []
    for k in unknown:
        close = difflib.get_close_matches(k, sorted(accepted), n=1)
        msgs.append(f"{k!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
    raise ConfigError(f"{where} got unknown keyword argument(s) {', '.join(msgs)}; accepted: "
                      f"{', '.join(sorted(accepted)) or 'none'}")


class Estimator:
    """Base class of simrec estimators.

    Subclasses set :attr:`needs` and :attr:`family`, list the extra keywords of their
    ``estimate`` in :attr:`estimate_keywords`, and store every constructor argument under its own
    name (validated in ``__init__``).
    """

    #: what the estimator reads (set by each subclass)
    needs: ClassVar[Needs]
    #: the family it belongs to in the registry (``bandit``, ``slate``, ``sequential``, ...)
    family: ClassVar[str] = ""
    #: keywords ``estimate`` accepts beyond its positional inputs
    estimate_keywords: ClassVar[frozenset[str]] = frozenset()
    #: the estimate always lies in the observed reward range (self-normalised, replay)
    bounded_by_rewards: ClassVar[bool] = False

    # -- scikit-learn conventions ------------------------------------------------------------------
    @classmethod
    def _param_names(cls) -> list[str]:
        return list(cls._parameters())

    @classmethod
    def _parameters(cls) -> dict[str, Any]:
        """Constructor parameters and their defaults (``inspect.Parameter.empty`` when required)."""
        params = list(inspect.signature(cls.__init__).parameters.values())[1:]
        if any(p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD) for p in params):
            raise TypeError(f"{cls.__name__}.__init__ must not take *args or **kwargs")
        return {p.name: p.default for p in params}

    @classmethod
    def _defaults(cls) -> dict[str, Any]:
        return {k: v for k, v in cls._parameters().items() if v is not inspect.Parameter.empty}

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """The constructor arguments, by name."""
        return {k: getattr(self, k) for k in self._param_names()}

    def set_params(self, **params: Any) -> Estimator:
        """Set parameters (validated as in the constructor) and return ``self``."""
        check_keywords(params, frozenset(self._param_names()), f"{type(self).__name__}.set_params")
        merged = {**self.get_params(), **params}
        type(self).__init__(self, **merged)
        return self

    def clone(self) -> Estimator:
        """A new, unfitted estimator with the same parameters."""
        return type(self)(**self.get_params())

    def __repr__(self) -> str:
        defaults = self._defaults()
        shown = []
        for k, v in self.get_params().items():
            d = defaults.get(k, inspect.Parameter.empty)
            same = d is not inspect.Parameter.empty and (d is v or _equal(d, v))
            if not same:
                shown.append(f"{k}={v!r}")
        return f"{type(self).__name__}({', '.join(shown)})"

    # -- helpers for subclasses --------------------------------------------------------------------
    @property
    def label(self) -> str:
        """The name results carry: the ``name`` parameter when set, else the class name."""
        name = getattr(self, "name", None)
        return name or type(self).__name__

    def _random(self) -> np.random.Generator:
        """A generator from ``random_state``: a fresh one per call for an int (reproducible)."""
        return as_rng(getattr(self, "random_state", None))

    def _check_keywords(self, kw: dict[str, Any]) -> None:
        # alpha and ci_method are explicit arguments of every ``estimate``: never in ``kw``, but
        # listed so that a misspelling of them gets the right suggestion
        check_keywords(kw, self.estimate_keywords | _COMMON_KEYWORDS, f"{type(self).__name__}.estimate")


def _equal(a: Any, b: Any) -> bool:
    try:
        return bool(a == b)
    except Exception:  # noqa: BLE001 - arrays and odd objects: not equal for display purposes
        return False


def clone(estimator: Estimator) -> Estimator:
    """A new estimator with the same parameters (scikit-learn's ``clone``)."""
    if not isinstance(estimator, Estimator):
        raise ConfigError(f"`estimator` must be a simrec Estimator; got {type(estimator).__name__}")
    return estimator.clone()


def check_name(name: Any) -> str | None:
    """Validate the optional ``name`` parameter of an estimator."""
    if name is not None and (not isinstance(name, str) or not name):
        raise ConfigError(f"`name` must be a non-empty string; got {name!r}")
    return name


def check_random_state(random_state: Any) -> Any:
    """Validate ``random_state``: None, a non-negative int or a numpy Generator."""
    if random_state is None or isinstance(random_state, np.random.Generator):
        return random_state
    if isinstance(random_state, (int, np.integer)) and not isinstance(random_state, bool) and random_state >= 0:
        return int(random_state)
    raise ConfigError(f"`random_state` must be None, a non-negative int or a numpy Generator; got {random_state!r}")
