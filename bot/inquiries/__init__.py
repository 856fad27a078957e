"""Inquiries routed to the coordinator: the durable outbox, delivery channels and the worker."""
