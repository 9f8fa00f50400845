"""Threatline: architecture in, reviewed STRIDE threat model out."""

__version__ = "0.1.0"
