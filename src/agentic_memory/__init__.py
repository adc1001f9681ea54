"""Shared code of the three AgenticMemory functions.

Handlers stay thin; everything they do lives here, one module per concern. Modules import their
heavy dependencies (mem0, boto3) lazily so each function's cold start pays only for what it uses.
"""
