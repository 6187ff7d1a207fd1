"""formcheck: rep-by-rep hip thrust form analysis from video."""

__version__ = "0.1.0"
