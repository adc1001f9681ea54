"""What operators run by hand, through the scripts: everything held about one caller, exported or
erased (``caller_records``). May import ``stores`` and ``domain``; never ``edge`` or ``worker``.
"""
