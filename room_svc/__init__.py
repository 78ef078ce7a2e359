"""The room context: hosts register rooms, guests review them, the saga holds and releases them."""
