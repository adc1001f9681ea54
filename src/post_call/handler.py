"""ElevenLabs post-call webhook (HTTP) and its asynchronous worker (self-invocation), one function.

The HTTP path (``edge.post_call``) verifies, queues a job for this same function and answers at once.
Everything else is the function's own work (``worker.events.route``): the job path (``worker.job_runner``)
writes the memories, and takes back the jobs that waited in the SQS wait queue for their turn at Mem0
(``worker.deferred``); an answering machine's verdict (``worker.machine_verdict``) forgets or forestalls a
call's memories; the scheduled event (EventBridge, only with an ElevenLabs API key) and backfill's window
events reconcile the conversation history (``worker.reconcile``); the retention sweep's event (every 15
minutes) deletes what is due (``worker.retention_sweep``). mem0 and boto3 load only on the path that needs them.
"""

from agentic_memory.startup import init_phase

with init_phase():  # no garbage collection while the code loads (agentic_memory/startup.py)
    from agentic_memory.stores import tls

    tls.start()  # the CA bundle loads on a thread while the code below loads (agentic_memory/stores/tls.py)
    from agentic_memory.edge import post_call
    from agentic_memory.observability import logger, metrics, use_service
    from agentic_memory.worker import events

    # The webhook's secret, from Secrets Manager on AWS, during Lambda's init phase (edge/auth.py).
    post_call.prepare()


@logger.inject_lambda_context(correlation_id_path="requestContext.requestId", clear_state=True)
@metrics.log_metrics
def lambda_handler(event, context):
    use_service("post-call")
    run = events.route(event)
    return run(event, context) if run is not None else post_call.handle(event, context)
