"""Renderers of a plan: text for terminals, Markdown for pull requests, JSON for machines."""
