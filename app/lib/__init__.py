"""Reusable pieces of the Valkey failure lab: clients, backends, checks and reporting."""
