"""kgan's version, readable without importing the package top level and its sub-packages."""

__version__ = "0.1.0"
