"""The post-call function's asynchronous work: ``job_runner`` writes a call's memories,
``profile_refresh`` keeps the caller profile current, ``reconcile`` recovers conversations whose
webhook never came. May import ``stores`` and ``domain``; never ``edge``.
"""
