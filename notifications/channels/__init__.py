"""Delivery channels: one small base (base.py, with the error classes) and one module per kind."""
