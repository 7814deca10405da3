"""Pure checks of parsed data against the rules; each returns findings (values), never raises."""
