"""A small application that keeps orders in Valkey (the code under test)."""
