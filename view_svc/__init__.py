"""The view context: a CQRS read model of rooms, built only from the other contexts' events."""
