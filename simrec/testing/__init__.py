"""Public conformance checks for simrec-compatible environments, policies and estimators."""

from .check_estimator import EstimatorCheckError, check_estimator
from .check_policy import PolicyCheckError, check_policy
from .check_vector_env import VectorEnvCheckError, check_vector_env

__all__ = ["check_vector_env", "VectorEnvCheckError", "check_policy", "PolicyCheckError", "check_estimator",
           "EstimatorCheckError"]
