"""The version of skdeepbiq (one place: the package and model files read it)."""

__version__ = "0.1.0.dev0"
