"""Public conformance checks for simrec-compatible environments, policies and estimators."""

from .check_vector_env import VectorEnvCheckError, check_vector_env

__all__ = ["check_vector_env", "VectorEnvCheckError"]

from .check_policy import PolicyCheckError, check_policy  # noqa: E402

__all__ += ["check_policy", "PolicyCheckError"]

from .check_estimator import EstimatorCheckError, check_estimator  # noqa: E402

__all__ += ["check_estimator", "EstimatorCheckError"]
