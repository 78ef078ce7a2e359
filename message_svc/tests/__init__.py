"""Unit tests of the message context."""
