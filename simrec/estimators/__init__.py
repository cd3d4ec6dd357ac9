"""Estimators: off-policy evaluation (:mod:`simrec.estimators.ope`) and more."""
