"""Unit tests of the view context."""
