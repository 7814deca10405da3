"""The decision for one message, pure: envelope (the message read once) -> decide (routing,
role, command or ordinary mail, reply cap) -> Decision. The case's life is one table,
transitions.TABLE, run by effects.perform."""
