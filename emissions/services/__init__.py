"""Writes of the domain, one module per area; every function takes the organization and is idempotent.

``sites`` and ``inventory`` upsert activity and inventory inputs; ``ledger`` computes and stores
EmissionRecords.
"""
