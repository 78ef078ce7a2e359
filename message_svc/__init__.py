"""The message context: notifications to guests and hosts, made from other contexts' events."""
