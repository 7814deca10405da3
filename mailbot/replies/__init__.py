"""Decision replies -> real email messages: Jinja2 templates by audience, text + HTML, RFC headers."""
