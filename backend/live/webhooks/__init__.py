"""Webhooks: endpoints that are sent every change (or some kinds of change), signed."""
