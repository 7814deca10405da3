"""The pure decision core: which case a message belongs to, and what happens to that case."""
