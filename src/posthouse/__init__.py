"""posthouse: an open-source post-production house.

The Python API is the ground truth; the CLI (`posthouse ...`) and the review room are thin faces on it.
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
