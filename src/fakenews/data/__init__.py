"""Data: readers, cleaning and leakage control, audit, and the registry of public sets.

Import the stages from their modules: ``fakenews.data.prepare.prepare``,
``fakenews.data.audit.audit``, ``fakenews.data.registry.fetch``.
"""
