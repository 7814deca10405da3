"""mailbot: the email intake robot of a medical second-opinion office."""

__version__ = "0.1.0"
