"""ElevenLabs post-call webhook (HTTP) and its asynchronous worker (self-invocation), one function.

The HTTP path (``edge.post_call``) verifies, queues a job for this same function and answers at once;
the job path (``worker.job_runner``) writes the memories; the scheduled event (EventBridge, only with an
ElevenLabs API key) and backfill's window events reconcile the conversation history (``worker.reconcile``).
mem0 and boto3 load only on the path that needs them.
"""

from agentic_memory.startup import init_phase

with init_phase():  # no garbage collection while the code loads (agentic_memory/startup.py)
    from agentic_memory.stores import tls

    tls.start()  # the CA bundle loads on a thread while the code below loads (agentic_memory/stores/tls.py)
    from agentic_memory.edge import health, post_call
    from agentic_memory.observability import logger, metrics, use_service
    from agentic_memory.worker import job_runner, reconcile

    # The webhook's secret, from Secrets Manager on AWS, during Lambda's init phase (edge/auth.py).
    post_call.prepare()


@logger.inject_lambda_context(correlation_id_path="requestContext.requestId", clear_state=True)
@metrics.log_metrics
def lambda_handler(event, context):
    use_service("post-call")
    if job_runner.is_job(event):
        return job_runner.run_job(event, context)
    if reconcile.is_reconcile_event(event):
        return reconcile.handle(event, context)
    if health.is_health_check(event):  # GET /: no key, no store (edge/health.py)
        return health.answer("post-call")
    return post_call.handle(event, context)
