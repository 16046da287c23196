"""RQ jobs and the worker and scheduler entry points.

Jobs are thin: they take ids, enter the app context and call the part that
does the work. Queues are named by purpose and created in ``queues``.
"""
